import { evaluatePricing, type PriceEvalResult } from '../marketing/pricing';
import { type Table, TableError } from '../marketing/tabular';
import type { FactRow } from './segment-users';

/**
 * Price elasticity and recommended prices from the drop folder's own purchases, in the training job: every
 * purchase with a value is one unit sold at that price (`event_value` = price paid), the item's category from
 * the items data, the buyer's customer segment from this run's segmentation, and the item's `cost` when the
 * items data has one (profit; revenue otherwise). Written as `models/<version>/pricing.json`.
 */
export type PricingSummary =
  | ({ readonly trained: true } & Pick<
      PriceEvalResult,
      'groups' | 'unidentified' | 'bounds' | 'weeks' | 'cells'
    >)
  | { readonly trained: false; readonly reason: string };

export function priceElasticityFromPurchases(
  rows: readonly FactRow[],
  itemAttributes: ReadonlyMap<string, Record<string, unknown>>,
  segmentOfUser: (userId: string) => string | undefined,
): PricingSummary {
  const columns = ['item_id', 'category', 'segment', 'timestamp', 'price', 'cost'];
  const values: string[][] = columns.map(() => []);
  let withCost = true;
  for (const row of rows) {
    if (row.event_type !== 'purchase' || row.event_value === null || !(row.event_value > 0)) continue;
    const attributes = itemAttributes.get(row.item_id) ?? {};
    const cost = Number(attributes.cost);
    if (!(cost > 0)) withCost = false;
    const fields = [
      row.item_id,
      typeof attributes.category === 'string' && attributes.category !== '' ? attributes.category : 'all',
      segmentOfUser(row.user_id) ?? 'all',
      String(row.timestamp),
      String(row.event_value),
      cost > 0 ? String(cost) : '',
    ];
    fields.forEach((field, column) => (values[column] as string[]).push(field));
  }
  const purchases = values[0]?.length ?? 0;
  if (purchases === 0) return { trained: false, reason: 'no purchase events with a value (the price paid)' };
  // Costs only when every purchased item has one: a profit objective on part of the catalogue would mislead.
  const table: Table = withCost
    ? { columns, values, rows: purchases }
    : { columns: columns.slice(0, -1), values: values.slice(0, -1), rows: purchases };
  try {
    const { groups, unidentified, bounds, weeks, cells } = evaluatePricing(table);
    return { trained: true, groups, unidentified, bounds, weeks, cells };
  } catch (error) {
    if (error instanceof TableError) return { trained: false, reason: error.message };
    throw error;
  }
}
