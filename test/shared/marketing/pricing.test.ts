import { evaluatePricing } from '../../../shared/marketing/pricing';
import { parseCsvTable, TableError } from '../../../shared/marketing/tabular';
import { generatePriceHistory, TRUE_ELASTICITIES } from '../../../shared/synthetic/price-history';

describe('price elasticity and price recommendations', () => {
  const history = generatePriceHistory({ seed: 17 });
  const result = evaluatePricing(parseCsvTable(history.csv));

  it('recovers the known elasticity of every category × segment within 10%', () => {
    expect(result.groups).toHaveLength(6);
    for (const group of result.groups) {
      const truth = TRUE_ELASTICITIES[group.category]?.[group.segment] as number;
      expect(Math.abs(group.elasticity.estimate - truth) / Math.abs(truth)).toBeLessThan(0.1);
      expect(group.elasticity.ci95[0]).toBeLessThan(group.elasticity.estimate);
      expect(group.elasticity.ci95[1]).toBeGreaterThan(group.elasticity.estimate);
    }
  });

  it('maximises profit within the bounds: raise where demand is inelastic, the interior optimum where it is elastic', () => {
    const find = (category: string, segment: string) =>
      result.groups.find((group) => group.category === category && group.segment === segment);
    const loyalGrocery = find('grocery', 'loyal');
    expect(loyalGrocery).toMatchObject({ objective: 'profit', decision: 'raise', priceMultiplier: 1.2 });
    expect(loyalGrocery?.expectedChange.estimate).toBeGreaterThan(0.2);
    // Elastic demand: m* = κ·β/(1+β) for cost share κ, inside the bounds.
    const bargainFashion = find('fashion', 'bargain');
    const { estimate } = bargainFashion?.elasticity ?? { estimate: 0 };
    const interior = ((bargainFashion?.costShare as number) * estimate) / (1 + estimate);
    expect(bargainFashion?.priceMultiplier).toBeCloseTo(interior, 3);
    expect(bargainFashion?.decision).toBe(interior > 1 ? 'raise' : 'cut');
    // Every recommendation's expected change is a gain, and its interval contains the estimate.
    for (const group of result.groups) {
      expect(group.expectedChange.estimate).toBeGreaterThanOrEqual(0);
      expect(group.expectedChange.ci95[0]).toBeLessThanOrEqual(group.expectedChange.estimate + 1e-12);
      expect(group.expectedChange.ci95[1]).toBeGreaterThanOrEqual(group.expectedChange.estimate - 1e-12);
    }
  });

  it('without costs maximises revenue: cut elastic demand to the lower bound, raise inelastic to the upper', () => {
    const revenue = evaluatePricing(
      parseCsvTable(history.csv.replace(/,cost,/, ',unit_price_cost_unknown,')),
      {
        bounds: 0.1,
      },
    );
    for (const group of revenue.groups) {
      expect(group.objective).toBe('revenue');
      expect(group.costShare).toBeNull();
      expect(group.priceMultiplier).toBe(group.elasticity.estimate < -1 ? 0.9 : 1.1);
    }
  });

  it('keeps the price and says why where the data is too thin to decide', () => {
    const lines = history.csv.trim().split('\n');
    // Three weeks of one item's sales only for fashion × loyal.
    const thin = [
      lines[0],
      ...lines.slice(1).filter((line) => !line.includes(',fashion,loyal,')),
      ...lines
        .slice(1)
        .filter((line) => /^i\d+,fashion,loyal,[1-3],/.test(line))
        .slice(0, 3),
    ].join('\n');
    const thinResult = evaluatePricing(parseCsvTable(thin));
    const group = thinResult.groups.find(
      (entry) => entry.category === 'fashion' && entry.segment === 'loyal',
    );
    expect(group).toMatchObject({ decision: 'keep', priceMultiplier: 1 });
    expect(group?.warning).toMatch(/only 3 item-weeks with sales \(fewer than 30\): too thin to decide/);
  });

  it('shrinks an item with few weeks toward its category more than one with a full year', () => {
    const lines = history.csv.trim().split('\n');
    const short = [
      lines[0],
      ...lines.slice(1).filter((line) => !/^i1,/.test(line) || /,grocery,bargain,([1-6]),/.test(line)),
    ].join('\n');
    const items = evaluatePricing(parseCsvTable(short)).items;
    const sparse = items.find((item) => item.item === 'i1' && item.segment === 'bargain');
    const full = items.find((item) => item.item === 'i2' && item.segment === 'bargain');
    expect(sparse?.cells).toBe(6);
    expect(sparse?.weight).toBeLessThan(full?.weight as number);
    const group = result.groups.find((entry) => entry.category === 'grocery' && entry.segment === 'bargain');
    const [low, high] = [
      Math.min(sparse?.own as number, group?.elasticity.estimate as number),
      Math.max(sparse?.own as number, group?.elasticity.estimate as number),
    ];
    expect(sparse?.shrunk).toBeGreaterThanOrEqual(low - 0.05);
    expect(sparse?.shrunk).toBeLessThanOrEqual(high + 0.05);
  });

  it('names the problem: a missing column, a price that is not a positive number', () => {
    expect(() => evaluatePricing(parseCsvTable('sku,week,quantity\na,1,2\n'))).toThrow(
      new TableError(
        'price column (one of price, event_value, price_paid) is not in the file (columns: sku, week, quantity)',
      ),
    );
    expect(() => evaluatePricing(parseCsvTable('item_id,week,price\na,1,2\nb,1,-3\n'))).toThrow(
      /price on data row 2 is '-3': not a positive number/,
    );
  });
});
