import {
  attributionReport,
  contextKey,
  decodeRecommendationId,
  outcomeOf,
  recommendationId,
  wilson,
} from '../../../shared/marketing/attribution';

describe('attribution', () => {
  it('carries the served context in the recommendationId, and refuses ids it did not mint', () => {
    const context = {
      servedAt: 1_764_000_000,
      surface: 'recommendations' as const,
      strategy: 'personalized',
      filter: 'in-stock',
      experiment: 'homepage-test',
      variant: 'model',
    };
    const id = recommendationId(context);
    expect(decodeRecommendationId(id)).toEqual(context);
    expect(recommendationId(context)).not.toBe(id);
    for (const forged of [
      'abc',
      'r1.',
      'r1.!!!',
      `r1.${Buffer.from('[1,"x","y",null,null,null,null,"n"]').toString('base64url')}`,
    ]) {
      expect(decodeRecommendationId(forged)).toBeUndefined();
    }
  });

  it('counts views and clicks as clicks, purchases as conversions with their value, nothing else', () => {
    expect(outcomeOf({ event_type: 'view' })).toEqual({ clicks: 1 });
    expect(outcomeOf({ event_type: 'purchase', event_value: 12 })).toEqual({
      conversions: 1,
      revenue: 12,
      revenueSquares: 144,
    });
    expect(outcomeOf({ event_type: 'add_to_cart' })).toBeUndefined();
  });

  it('gives Wilson intervals that stay inside [0, 1] and contain the rate', () => {
    expect(wilson(0, 20).ci95[0]).toBe(0);
    expect(wilson(0, 20).ci95[1]).toBeGreaterThan(0.1);
    // 50/1000: the textbook Wilson interval is [0.0381, 0.0653].
    const rate = wilson(50, 1000);
    expect(rate.value).toBe(0.05);
    expect(rate.ci95[0]).toBeCloseTo(0.0381, 3);
    expect(rate.ci95[1]).toBeCloseTo(0.0653, 3);
  });

  it('sums counters per strategy, filter, promotion and variant', () => {
    const personalized = { servedAt: 0, surface: 'recommendations' as const, strategy: 'personalized' };
    const rows = [
      { key: contextKey(personalized), counters: { requests: 10, impressions: 100, clicks: 10 } },
      {
        key: contextKey({ ...personalized, filter: 'f' }),
        counters: { requests: 5, impressions: 50, clicks: 1 },
      },
      {
        key: contextKey({ ...personalized, experiment: 'e1', variant: 'b', promotion: 'p' }),
        counters: { requests: 2, impressions: 20, conversions: 2, revenue: 30, revenueSquares: 500 },
      },
      {
        key: contextKey({ ...personalized, strategy: 'cold_start' }),
        counters: { requests: 1, impressions: 10 },
      },
    ];
    const report = attributionReport('2026-11-01', '2026-11-07', rows);
    expect(report.totals).toMatchObject({
      requests: 18,
      impressions: 180,
      clicks: 11,
      conversions: 2,
      revenue: 30,
    });
    expect(report.byStrategy.map((row) => [row.strategy, row.impressions])).toEqual([
      ['personalized', 170],
      ['cold_start', 10],
    ]);
    expect(report.byFilter.map((row) => [row.filter, row.impressions])).toEqual([
      [null, 130],
      ['f', 50],
    ]);
    expect(report.byPromotion.find((row) => row.promotion === 'p')?.conversionRate.value).toBe(0.1);
    expect(report.byExperiment).toEqual([
      expect.objectContaining({ experiment: 'e1', variant: 'b', conversions: 2, revenue: 30 }),
    ]);
    // Revenue per impression: mean 1.5 over 20 impressions, spread from the squares.
    const promoted = report.byExperiment[0]?.revenuePerImpression;
    expect(promoted?.value).toBe(1.5);
    expect(promoted?.ci95[0]).toBeLessThan(1.5);
    expect(promoted?.ci95[1]).toBeGreaterThan(1.5);
  });
});
