import { gatherNonZero, solveSymmetric } from './logistic-regression';
import type { Matrix } from './propensity';

/**
 * Row-weighted ridge regression, solved exactly from the normal equations:
 * minimises (1/n)·Σ wᵢ·(yᵢ − xᵢβ − b)² + λ·‖β‖² (intercept unpenalised). The
 * numeric-outcome twin of `fitLogisticRegression`, on the same encoded matrix;
 * one pass over the rows builds XᵀWX from each row's non-zero columns.
 */
export interface RidgeModel {
  readonly coefficients: Float64Array;
  readonly intercept: number;
}

export function fitRidgeRegression(
  data: Matrix,
  targets: ArrayLike<number>,
  weights: ArrayLike<number> | undefined,
  l2: number,
): RidgeModel {
  const width = data.width;
  const d = width + 1;
  const n = Math.max(data.rows, 1);
  const gram = new Float64Array(d * d);
  const moment = new Float64Array(d);
  const columns = new Int32Array(d);
  const values = new Float64Array(d);
  for (let row = 0; row < data.rows; row++) {
    const count = gatherNonZero(data, row, columns, values);
    const w = (weights ? (weights[row] as number) : 1) / n;
    const y = targets[row] as number;
    for (let a = 0; a < count; a++) {
      const columnA = columns[a] as number;
      const scaled = w * (values[a] as number);
      moment[columnA] = (moment[columnA] as number) + scaled * y;
      const rowOffset = columnA * d;
      for (let b = a; b < count; b++) {
        const columnB = columns[b] as number;
        gram[rowOffset + columnB] = (gram[rowOffset + columnB] as number) + scaled * (values[b] as number);
      }
    }
  }
  for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) gram[j * d + i] = gram[i * d + j] as number;
  for (let column = 0; column < width; column++)
    gram[column * d + column] = (gram[column * d + column] as number) + l2;
  // A column that is zero in every row stays solvable.
  for (let column = 0; column < d; column++)
    gram[column * d + column] = (gram[column * d + column] as number) + 1e-10;
  const beta = solveSymmetric(gram, moment, d);
  return { coefficients: beta.slice(0, width), intercept: beta[width] as number };
}

/** Prediction per row. */
export function ridgePredictions(
  model: { coefficients: ArrayLike<number>; intercept: number },
  data: Matrix,
): Float64Array {
  const out = new Float64Array(data.rows);
  for (let row = 0; row < data.rows; row++) {
    let sum = model.intercept;
    const offset = row * data.width;
    for (let column = 0; column < data.width; column++) {
      const value = data.values[offset + column] as number;
      if (value !== 0) sum += value * (model.coefficients[column] as number);
    }
    out[row] = sum;
  }
  return out;
}
