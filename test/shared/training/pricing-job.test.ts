import { priceElasticityFromPurchases } from '../../../shared/training/pricing-job';
import type { FactRow } from '../../../shared/training/segment-users';
import { generatePriceHistory, TRUE_ELASTICITIES } from '../../../shared/synthetic/price-history';

/** The weekly sales of a synthetic price history as individual purchases (one row per unit sold). */
function purchasesOf(csv: string): { rows: FactRow[]; items: Map<string, Record<string, unknown>> } {
  const rows: FactRow[] = [];
  const items = new Map<string, Record<string, unknown>>();
  for (const line of csv.trim().split('\n').slice(1)) {
    const [item = '', category, segment, week, price, , cost, quantity] = line.split(',');
    items.set(item, { category, cost: Number(cost) });
    for (let unit = 0; unit < Number(quantity); unit++) {
      rows.push({
        user_id: `${segment}-${unit % 7}`,
        item_id: item,
        timestamp: 1_700_000_000 + Number(week) * 604_800 + unit,
        event_type: 'purchase',
        event_value: Number(price),
      });
    }
  }
  return { rows, items };
}

describe('price elasticity in the training job', () => {
  it("estimates each category × customer segment from the drop folder's purchases, with costs from the items", () => {
    const history = generatePriceHistory({ seed: 23, itemsPerCategory: 6, weeks: 40 });
    const { rows, items } = purchasesOf(history.csv);
    const summary = priceElasticityFromPurchases(rows, items, (userId) => userId.split('-')[0]);
    if (!summary.trained) throw new Error(summary.reason);
    expect(summary.groups).toHaveLength(6);
    for (const group of summary.groups) {
      const truth = TRUE_ELASTICITIES[group.category]?.[group.segment] as number;
      expect(Math.abs(group.elasticity.estimate - truth) / Math.abs(truth)).toBeLessThan(0.15);
      expect(group.objective).toBe('profit');
    }
  });

  it('says why there is no estimate: no purchase values, or prices that never moved', () => {
    const views: FactRow[] = [
      { user_id: 'u1', item_id: 'i1', timestamp: 1_700_000_000, event_type: 'view', event_value: null },
    ];
    expect(priceElasticityFromPurchases(views, new Map(), () => undefined)).toEqual({
      trained: false,
      reason: 'no purchase events with a value (the price paid)',
    });
    const constant: FactRow[] = Array.from({ length: 200 }, (_, index) => ({
      user_id: `u${index % 20}`,
      item_id: `i${index % 5}`,
      timestamp: 1_700_000_000 + index * 86_400,
      event_type: 'purchase',
      event_value: 10 + (index % 5),
    }));
    expect(priceElasticityFromPurchases(constant, new Map(), () => undefined)).toEqual({
      trained: false,
      reason: 'no item’s price ever moved: price elasticity cannot be estimated from this history',
    });
  });
});
