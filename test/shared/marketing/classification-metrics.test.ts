import { ctrMetrics, rocAucInterval } from '../../../shared/marketing/ctr';
import { logLoss } from '../../../shared/ml/metrics';
import {
  averagePrecision,
  bestF1Threshold,
  calibrationCurve,
  classificationMetrics,
  expectedCalibrationError,
  rocAuc,
} from '../../../shared/marketing/classification-metrics';

describe('classification metrics', () => {
  it('computes ROC AUC as the share of correctly ordered positive/negative pairs, ties counting half', () => {
    // Pairs (pos, neg): 0.9>0.1 ✓, 0.9>0.4 ✓, 0.4 vs 0.4 tie ½, 0.4>0.1 ✓ → 3.5 / 4.
    expect(rocAuc([0.9, 0.4, 0.4, 0.1], [1, 1, 0, 0])).toBeCloseTo(0.875, 10);
    expect(rocAuc([0.1, 0.2, 0.3], [1, 0, 0])).toBe(0);
    expect(rocAuc([0.5, 0.5], [1, 1])).toBeNaN();
  });

  it('computes average precision from the ranked list', () => {
    // Ranked labels 1,0,1,0: precision at the hits 1/1 and 2/3 → (1 + 2/3) / 2.
    expect(averagePrecision([0.9, 0.8, 0.7, 0.6], [1, 0, 1, 0])).toBeCloseTo(5 / 6, 10);
  });

  it('measures calibration error as the weighted gap between predicted and observed rates', () => {
    // Bin [0.2,0.3): predicted 0.2 ×2, observed 1 of 2 → |0.4 − 1| = 0.6; bin [0.8,0.9): 0.8 ×2, observed 2 → 0.4.
    expect(expectedCalibrationError([0.2, 0.2, 0.8, 0.8], [1, 0, 1, 1])).toBeCloseTo((0.6 + 0.4) / 4, 10);
    expect(calibrationCurve([0.2, 0.2, 0.8, 0.8], [1, 0, 1, 1])).toEqual([
      { predicted: 0.2, observed: 0.5, count: 2 },
      { predicted: 0.8, observed: 1, count: 2 },
    ]);
  });

  it('picks the threshold with the best F1 and reports decisions, lift and Brier score at it', () => {
    const probabilities = [0.95, 0.9, 0.7, 0.6, 0.3, 0.2, 0.1, 0.05, 0.04, 0.01];
    const labels = [1, 1, 0, 1, 0, 0, 0, 0, 0, 0];
    const threshold = bestF1Threshold(probabilities, labels);
    expect(threshold).toBe(0.6); // top 4: precision 3/4, recall 1 → F1 0.857, better than top 2 (0.8)
    const metrics = classificationMetrics(probabilities, labels, threshold);
    expect(metrics).toMatchObject({ rows: 10, positives: 3, precision: 0.75, recall: 1 });
    expect(metrics.f1).toBeCloseTo(6 / 7, 10);
    expect(metrics.liftTop10).toBeCloseTo(1 / 0.3, 10); // the top row is positive; base rate 0.3
    const brier =
      probabilities.reduce((sum, p, index) => sum + (p - (labels[index] as number)) ** 2, 0) /
      probabilities.length;
    expect(metrics.brier).toBeCloseTo(brier, 12);
  });
});

describe('CTR metrics', () => {
  it('gives the ROC AUC a Hanley–McNeil interval that narrows as the classes grow', () => {
    const [smallLow, smallHigh] = rocAucInterval(0.75, 30, 270);
    const [largeLow, largeHigh] = rocAucInterval(0.75, 3_000, 27_000);
    expect(smallLow).toBeLessThan(0.75);
    expect(smallHigh).toBeGreaterThan(0.75);
    // By hand: Q1 = 0.6, Q2 = 0.6429, SE² = (0.1875 + 29·0.0375 + 269·0.0804) / 8100 → SE ≈ 0.0532.
    expect((smallHigh - smallLow) / (2 * 1.96)).toBeCloseTo(0.0532, 3);
    expect(largeHigh - largeLow).toBeLessThan((smallHigh - smallLow) / 5);
    expect(rocAucInterval(0.9, 0, 10).every(Number.isNaN)).toBe(true);
  });

  it('computes log loss with clipped probabilities', () => {
    expect(logLoss([0.5, 0.5], [1, 0])).toBeCloseTo(Math.LN2, 10);
    expect(logLoss([0, 1], [1, 0])).toBeCloseTo(-Math.log(1e-7), 5);
    expect(ctrMetrics(Float64Array.of(0.9, 0.2, 0.8, 0.1), Uint8Array.of(1, 0, 1, 0))).toMatchObject({
      rocAuc: 1,
      meanPredicted: 0.5,
    });
  });
});
