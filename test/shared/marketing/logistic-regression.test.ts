import { SeededRandom } from '../../../shared/data/random';
import { fitLogisticRegression, logisticLogits } from '../../../shared/marketing/logistic-regression';

/** Rows from a known logistic model: two numeric columns and a one-hot pair. */
function sample(rows: number, seed: number) {
  const random = new SeededRandom(seed);
  const width = 4;
  const truth = { coefficients: [1.5, -0.8, 0.6, -0.6], intercept: -0.4 };
  const values = new Float32Array(rows * width);
  const labels = new Uint8Array(rows);
  for (let row = 0; row < rows; row++) {
    const hot = random.next() < 0.5 ? 2 : 3;
    values.set([random.normal(), random.normal(), hot === 2 ? 1 : 0, hot === 3 ? 1 : 0], row * width);
    let z = truth.intercept;
    for (let column = 0; column < width; column++)
      z += (values[row * width + column] as number) * (truth.coefficients[column] as number);
    labels[row] = random.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  return { data: { values, rows, width }, labels, truth };
}

describe('fitLogisticRegression', () => {
  it('recovers the coefficients of the model that generated the data', () => {
    const { data, labels, truth } = sample(40_000, 1);
    const model = fitLogisticRegression(data, labels, new Float32Array(data.rows).fill(1), { l2: 0 });
    expect(model.coefficients[0]).toBeCloseTo(truth.coefficients[0] as number, 1);
    expect(model.coefficients[1]).toBeCloseTo(truth.coefficients[1] as number, 1);
    // The one-hot pair and the intercept are identified only up to a shift: their differences are.
    expect((model.coefficients[2] as number) - (model.coefficients[3] as number)).toBeCloseTo(1.2, 1);
    expect(model.intercept + (model.coefficients[2] as number)).toBeCloseTo(truth.intercept + 0.6, 1);
    expect(model.iterations).toBeLessThan(20);
  });

  it('minimises the weighted, penalised objective: its gradient vanishes at the solution', () => {
    const { data, labels } = sample(3_000, 2);
    const weights = Float32Array.from(labels, (label, row) => (label ? 3 : 1) * (0.5 + row / data.rows));
    const l2 = 0.01;
    const model = fitLogisticRegression(data, labels, weights, { l2 });
    const logits = logisticLogits(model, data);
    const gradient = new Float64Array(data.width + 1);
    for (let row = 0; row < data.rows; row++) {
      const residual =
        ((weights[row] as number) *
          (1 / (1 + Math.exp(-(logits[row] as number))) - (labels[row] as number))) /
        data.rows;
      for (let column = 0; column < data.width; column++)
        gradient[column] =
          (gradient[column] as number) + residual * (data.values[row * data.width + column] as number);
      gradient[data.width] = (gradient[data.width] as number) + residual;
    }
    for (let column = 0; column < data.width; column++)
      gradient[column] = (gradient[column] as number) + 2 * l2 * (model.coefficients[column] as number);
    for (const component of gradient) expect(Math.abs(component)).toBeLessThan(1e-6);
    // The penalty shrinks: a larger λ gives smaller coefficients.
    const stronger = fitLogisticRegression(data, labels, weights, { l2: 1 });
    expect(Math.abs(stronger.coefficients[0] as number)).toBeLessThan(
      Math.abs(model.coefficients[0] as number),
    );
  });

  it('from a warm start (a nearby fit) reaches the same solution in fewer Newton steps', () => {
    const { data, labels } = sample(5_000, 4);
    const flat = new Float32Array(data.rows).fill(1);
    const recent = Float32Array.from({ length: data.rows }, (_, row) => 0.5 + row / data.rows);
    const cold = fitLogisticRegression(data, labels, recent, { l2: 0.001 });
    const nearby = fitLogisticRegression(data, labels, flat, { l2: 0.001 });
    const warm = fitLogisticRegression(data, labels, recent, { l2: 0.001, start: nearby });
    warm.coefficients.forEach((value, column) =>
      expect(value).toBeCloseTo(cold.coefficients[column] as number, 5),
    );
    expect(warm.intercept).toBeCloseTo(cold.intercept, 5);
    expect(warm.iterations).toBeLessThan(cold.iterations);
  });
});
