import {
  normalCdf,
  normalQuantile,
  sampleSizePerVariant,
  studentQuantile,
  studentTwoSidedP,
  summarise,
  twoProportionZTest,
  welchTTest,
} from '../../../shared/marketing/statistics';

describe('A/B test statistics against textbook values', () => {
  it('evaluates the normal distribution and its quantiles', () => {
    expect(normalCdf(1.96)).toBeCloseTo(0.975, 4);
    expect(normalCdf(-1)).toBeCloseTo(0.158655, 5);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(0.8)).toBeCloseTo(0.841621, 5);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232, 4);
  });

  it("evaluates Student's t (tables: t=2.228 at df=10 and t=2.045 at df=29 are the 5% two-sided points)", () => {
    expect(studentTwoSidedP(2.228, 10)).toBeCloseTo(0.05, 3);
    expect(studentTwoSidedP(2.045, 29)).toBeCloseTo(0.05, 3);
    expect(studentTwoSidedP(2, 10)).toBeCloseTo(0.0734, 4);
    expect(studentQuantile(0.05, 10)).toBeCloseTo(2.2281, 3);
  });

  it('runs the two-proportion z-test (200/1000 vs 250/1000: pooled z = 2.6774, p = 0.0074)', () => {
    const result = twoProportionZTest(200, 1000, 250, 1000);
    expect(result.statistic).toBeCloseTo(2.6774, 3);
    expect(result.pValue).toBeCloseTo(0.0074, 4);
    expect(result.difference).toBeCloseTo(0.05, 12);
    expect(result.relativeLift).toBeCloseTo(0.25, 12);
    // Unpooled interval: 0.05 ± 1.96·sqrt(0.2·0.8/1000 + 0.25·0.75/1000).
    const margin = 1.959964 * Math.sqrt(0.16 / 1000 + 0.1875 / 1000);
    expect(result.ci95[0]).toBeCloseTo(0.05 - margin, 5);
    expect(result.ci95[1]).toBeCloseTo(0.05 + margin, 5);
  });

  it("runs Welch's t-test (hand-computed: t = 2.2923, df = 8.53, p just under 0.05)", () => {
    const control = summarise([1, 2, 3, 4, 5]); // mean 3, variance 2.5
    const treatment = summarise([3, 4, 5, 6, 7, 10]); // mean 5.8333, variance 30.8333 / 5 = 6.1667
    const result = welchTTest(control, treatment);
    const se = Math.sqrt(2.5 / 5 + 6.166667 / 6);
    expect(result.statistic).toBeCloseTo((5.833333 - 3) / se, 4);
    expect(result.statistic).toBeCloseTo(2.2923, 3);
    expect(result.df).toBeCloseTo(8.526, 2);
    expect(result.pValue).toBeCloseTo(studentTwoSidedP(result.statistic, result.df), 10);
    expect(result.pValue).toBeGreaterThan(0.04);
    expect(result.pValue).toBeLessThan(0.05);
  });

  it('sizes a test: 10% → 12% conversion needs 3,841 users per variant at α 0.05, power 0.8', () => {
    expect(sampleSizePerVariant(0.1, 0.12)).toBe(3841);
    expect(sampleSizePerVariant(0.1, 0.15)).toBeLessThan(sampleSizePerVariant(0.1, 0.12));
  });
});
