import {
  assignVariant,
  experimentReport,
  experimentSchema,
  outcomeDelta,
  type UserOutcome,
} from '../../../shared/marketing/experiments';
import { twoProportionZTest } from '../../../shared/marketing/statistics';

const definition = experimentSchema.parse({
  experimentId: 'spring-email',
  variants: [
    { name: 'control', strategy: 'popular', weight: 1 },
    { name: 'treatment', strategy: 'personalized', weight: 3 },
  ],
  costPerContact: 0.5,
});

function outcomes(variant: string, users: number, converters: number, revenueEach: number): UserOutcome[] {
  return Array.from({ length: users }, (_, user) => ({
    variant,
    exposures: 2,
    clicks: user % 2,
    conversions: user < converters ? 1 : 0,
    revenue: user < converters ? revenueEach : 0,
  }));
}

describe('A/B experiments', () => {
  it('assigns users deterministically, stickily and in proportion to the weights', () => {
    const counts = { control: 0, treatment: 0 };
    for (let user = 0; user < 20_000; user++) {
      const variant = assignVariant(definition, `u${user}`);
      expect(assignVariant(definition, `u${user}`)).toBe(variant);
      counts[variant.name as keyof typeof counts]++;
    }
    expect(counts.treatment / 20_000).toBeCloseTo(0.75, 1);
    // Another experiment splits the same users independently.
    const other = { ...definition, experimentId: 'other-test' };
    const differ = Array.from({ length: 1000 }, (_, user) => `u${user}`).filter(
      (userId) => assignVariant(other, userId).name !== assignVariant(definition, userId).name,
    ).length;
    expect(differ).toBeGreaterThan(200);
  });

  it('rejects definitions a report could not be built from, naming the field', () => {
    const parse = (body: unknown) => experimentSchema.safeParse(body);
    const path = (body: unknown) => parse(body).error?.issues[0]?.path.join('.');
    expect(path({ experimentId: 'x', variants: [] })).toBe('experimentId');
    expect(path({ experimentId: 'abc', variants: [{ name: 'a', strategy: 'personalized' }] })).toBe(
      'variants',
    );
    expect(
      path({
        experimentId: 'abc',
        variants: [
          { name: 'a', strategy: 'personalized' },
          { name: 'a', strategy: 'popular' },
        ],
      }),
    ).toBe('variants.1.name');
    expect(
      path({
        experimentId: 'abc',
        variants: [
          { name: 'a', strategy: 'personalized' },
          { name: 'b', strategy: 'random' },
        ],
      }),
    ).toBe('variants.1.strategy');
    expect(
      path({
        experimentId: 'abc',
        control: 'c',
        variants: [
          { name: 'a', strategy: 'personalized' },
          { name: 'b', strategy: 'popular' },
        ],
      }),
    ).toBe('control');
  });

  it('reports rates, revenue, ROI and the lift against the control with the z-test', () => {
    const report = experimentReport(definition, [
      ...outcomes('control', 1000, 200, 10),
      ...outcomes('treatment', 1000, 250, 12),
    ]);
    expect(report.control).toBe('control');
    const [control, treatment] = report.variants;
    expect(control).toMatchObject({
      users: 1000,
      exposures: 2000,
      clicks: 500,
      ctr: 0.25,
      clickers: 500,
      clickRate: 0.5,
      converters: 200,
    });
    expect(control).toMatchObject({
      conversionRate: 0.2,
      revenue: 2000,
      revenuePerUser: 2,
      cost: 1000,
      roi: 1,
    });
    expect(control?.vsControl).toBeUndefined();
    expect(treatment).toMatchObject({ conversionRate: 0.25, revenue: 3000, revenuePerUser: 3, roi: 2 });
    const expected = twoProportionZTest(200, 1000, 250, 1000);
    expect(treatment?.vsControl?.conversionRate.pValue).toBeCloseTo(expected.pValue, 6);
    expect(treatment?.vsControl?.conversionRate.relativeLift).toBeCloseTo(0.25, 6);
    expect(treatment?.vsControl?.revenuePerUser.difference).toBeCloseTo(1, 6);
    expect(treatment?.vsControl?.revenuePerUser.pValue).toBeLessThan(0.001);
    // Visits and clicks are a binary outcome per user too, with the same test.
    const clicked = twoProportionZTest(control?.clickers ?? 0, 1000, treatment?.clickers ?? 0, 1000);
    expect(treatment?.vsControl?.clickRate.pValue).toBeCloseTo(clicked.pValue, 6);
    // 20% → 22% needs 6,507 users per variant (Fleiss, no continuity correction): underpowered for a 10% lift,
    // but 20% → 25% is significant (p ≈ 0.007), so no power note stands beside it.
    expect(report.power).toMatchObject({
      baselineConversionRate: 0.2,
      smallestVariantUsers: 1000,
      underpowered: true,
    });
    expect(report.power.requiredUsersPerVariant).toBeGreaterThan(6_000);
    // (1.96 + 0.84) · sqrt(2 · 0.2 · 0.8 / 1000) = 0.0501
    expect(report.power.minimumDetectableEffect).toBeCloseTo(0.0501, 3);
    expect(report.warnings).toEqual([]);
  });

  it('puts the power note beside a result that is not significant: the effect that could have gone undetected', () => {
    const report = experimentReport(definition, [
      ...outcomes('control', 1000, 200, 10),
      ...outcomes('treatment', 1000, 210, 12),
    ]);
    expect(report.variants[1]?.vsControl?.conversionRate.pValue).toBeGreaterThan(0.05);
    expect(report.warnings).toEqual([
      expect.stringMatching(
        /^not significant \(treatment p = 0\.\d+\): with 1000 users in the smallest variant, differences under ±5\.0 points on the control's 20\.0% conversion rate go undetected \(α 0\.05, power 0\.8\); detecting a 10% lift needs \d+ users per variant$/,
      ),
    ]);
  });

  it('warns when the control has no conversions yet, and counts outcomes from events', () => {
    const report = experimentReport(definition, outcomes('control', 10, 0, 0));
    expect(report.power.requiredUsersPerVariant).toBeNull();
    expect(report.warnings).toEqual([
      'no conversions in the control yet: the power of the test cannot be estimated',
    ]);
    expect(
      outcomeDelta([
        { event_type: 'view' },
        { event_type: 'click' },
        { event_type: 'purchase', event_value: 19.99 },
        { event_type: 'purchase', event_value: 5.01 },
        { event_type: 'add_to_cart', event_value: 3 },
      ]),
    ).toEqual({ clicks: 2, conversions: 2, revenue: 25 });
  });
});
