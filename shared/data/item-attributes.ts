import type { ServedAttribute } from '../contracts/artifacts';
import { attributeValues } from './list-values';

/** An item's curated attributes as responses show them: scalars and lists of text, its id left out. */
export function servedAttributes(row: Record<string, unknown>): Record<string, ServedAttribute> {
  return Object.fromEntries(
    Object.entries(row).filter(
      ([key, value]) =>
        key !== 'item_id' &&
        (value === null ||
          ['string', 'number', 'boolean'].includes(typeof value) ||
          (Array.isArray(value) && value.every((entry) => typeof entry === 'string'))),
    ),
  ) as Record<string, ServedAttribute>;
}

/** The category as filters read it: one value, the values of a list attribute, or null. */
export function categoryAttribute(value: unknown): string | string[] | null {
  if (Array.isArray(value)) return attributeValues(value);
  return value === undefined || value === null ? null : String(value);
}
