import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { convertToAttr, convertToNative, marshall, unmarshall } from '@aws-sdk/util-dynamodb';

/**
 * JSON ⇄ DynamoDB attribute values for the plain records the feature store keeps (strings, finite numbers,
 * booleans, null, lists, maps), through the SDK's own marshalling (`@aws-sdk/util-dynamodb`). Undefined
 * fields are left out; a non-finite number is refused, as DynamoDB would.
 *
 * Ingestion keeps a numeric attribute beyond 2^53 (a long product code) as text, so no digit is lost.
 */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

// Counters and running statistics (a variance's sum of squares) can pass 2^53: stored as the number they are,
// read back as JS numbers (never BigInt), as the records here use them.
const OPTIONS = {
  removeUndefinedValues: true,
  convertEmptyValues: false,
  allowImpreciseNumbers: true,
} as const;
const READ = { wrapNumbers: (text: string) => Number(text) };

export function toAttributeValue(value: unknown): AttributeValue {
  if (value === undefined) return { NULL: true };
  return convertToAttr(value, OPTIONS);
}

export function toItem(record: Record<string, unknown>): Record<string, AttributeValue> {
  return marshall(record, OPTIONS);
}

export function fromAttributeValue(value: AttributeValue): Json {
  return plain(convertToNative(value, READ));
}

export function fromItem(item: Record<string, AttributeValue>): { [key: string]: Json } {
  return plain(unmarshall(item, READ)) as { [key: string]: Json };
}

/** String and number sets come back as `Set`s: the records here use arrays. */
function plain(value: unknown): Json {
  if (value instanceof Set) return [...value].map(plain);
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array))
    return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, plain(entry)]));
  return value as Json;
}
