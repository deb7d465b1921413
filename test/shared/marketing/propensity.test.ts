import { classificationMetrics, rocAuc } from '../../../shared/marketing/classification-metrics';
import {
  calibrated,
  DEFAULT_PROPENSITY_CONFIG,
  disposePropensity,
  ensembleLogits,
  fitPlatt,
  type Matrix,
  trainPropensity,
} from '../../../shared/marketing/propensity';
import { initBackend } from '../../../shared/ml/backend';
import { SeededRandom } from '../../../shared/data/random';

/** Rows whose conversion follows a known logistic model (with an interaction an MLP can use). */
function syntheticRows(rows: number, seed: number): { x: Matrix; y: Uint8Array } {
  const random = new SeededRandom(seed);
  const width = 4;
  const values = new Float32Array(rows * width);
  const y = new Uint8Array(rows);
  for (let row = 0; row < rows; row++) {
    const features = [random.normal(), random.normal(), random.normal(), random.normal()];
    values.set(features, row * width);
    const [a, b, c] = features as [number, number, number, number];
    const logit = -2.2 + 1.5 * a - 1.0 * b + 1.2 * a * c;
    y[row] = random.next() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
  }
  return { x: { values, rows, width }, y };
}

describe('propensity model', () => {
  beforeAll(async () => {
    await initBackend({ force: 'wasm' });
  });

  it('recovers known Platt parameters from labels drawn with them', () => {
    const random = new SeededRandom(3);
    const logits = Array.from({ length: 20_000 }, () => random.normal() * 3);
    const labels = logits.map((logit) => (random.next() < 1 / (1 + Math.exp(-(0.5 * logit - 1))) ? 1 : 0));
    const platt = fitPlatt(logits, labels);
    expect(platt.a).toBeCloseTo(0.5, 1);
    expect(platt.b).toBeCloseTo(-1, 1);
  });

  it('learns an imbalanced problem, beats chance by far, and gives calibrated probabilities', async () => {
    const train = syntheticRows(6_000, 1);
    const validation = syntheticRows(2_000, 2);
    const test = syntheticRows(3_000, 3);
    const trained = await trainPropensity(train.x, train.y, validation.x, validation.y, {
      ...DEFAULT_PROPENSITY_CONFIG,
      ensemble: 2,
      maxEpochs: 15,
    });
    const probabilities = calibrated(ensembleLogits(trained.members, test.x), trained.platt);
    const metrics = classificationMetrics(probabilities, test.y, trained.threshold);
    // The generating model's own AUC on these rows bounds what any model can reach.
    const oracle = rocAuc(
      Array.from({ length: test.x.rows }, (_, row) => {
        const [a, b, c] = test.x.values.subarray(row * 4, row * 4 + 3) as unknown as [number, number, number];
        return 1.5 * a - 1.0 * b + 1.2 * a * c;
      }),
      test.y,
    );
    expect(metrics.rocAuc).toBeGreaterThan(oracle - 0.03);
    expect(metrics.calibrationError).toBeLessThan(0.03);
    expect(trained.threshold).toBeGreaterThan(0);
    expect(trained.threshold).toBeLessThan(1);
    disposePropensity(trained);
  });

  it('refuses training rows with a single class', async () => {
    const rows = syntheticRows(100, 4);
    await expect(
      trainPropensity(rows.x, new Uint8Array(100), rows.x, rows.y, {
        ...DEFAULT_PROPENSITY_CONFIG,
        ensemble: 1,
      }),
    ).rejects.toThrow('only one class');
  });
});
