import type { Matrix } from './propensity';

/**
 * L2-regularised, row-weighted logistic regression fitted exactly by Newton's
 * method (iteratively reweighted least squares). The objective is the one the
 * MLP minimises — (1/n)·Σ wᵢ·ℓᵢ + λ·‖β‖² (intercept unpenalised) — so the two
 * are compared on equal terms; being convex, it needs no epochs, learning rate
 * or early stopping, and on one-hot tables it fits in a fraction of a second.
 */
export interface LogisticModel {
  /** One coefficient per encoded column. */
  readonly coefficients: Float64Array;
  readonly intercept: number;
  readonly iterations: number;
}

export interface LogisticOptions {
  readonly l2: number;
  readonly maxIterations?: number;
  /** Stop when the objective improves by less than this (relative). @default 1e-9 */
  readonly tolerance?: number;
  /**
   * Start from this model instead of zeros (same columns): a fit of nearby data or weights — the next recency
   * half-life, the refit on training + validation rows — needs fewer Newton steps from there.
   */
  readonly start?: LogisticModel;
}

export function fitLogisticRegression(
  data: Matrix,
  labels: Uint8Array,
  weights: Float32Array,
  options: LogisticOptions,
): LogisticModel {
  const d = data.width + 1; // the last parameter is the intercept
  const n = Math.max(data.rows, 1);
  let beta = new Float64Array(d);
  if (options.start && options.start.coefficients.length === d - 1) {
    beta.set(options.start.coefficients);
    beta[d - 1] = options.start.intercept;
  }
  let current = objective(data, labels, weights, beta, options.l2);
  let iterations = 0;
  for (; iterations < (options.maxIterations ?? 50); iterations++) {
    const { gradient, hessian } = derivatives(data, labels, weights, beta, options.l2, n);
    const step = solveSymmetric(hessian, gradient, d);
    // Newton with backtracking: halve the step until the objective improves.
    let scale = 1;
    let next = beta.map((value, index) => value - (step[index] as number));
    let value = objective(data, labels, weights, next, options.l2);
    while (value > current && scale > 1e-8) {
      scale /= 2;
      next = beta.map((value, index) => value - scale * (step[index] as number));
      value = objective(data, labels, weights, next, options.l2);
    }
    if (value > current) break;
    const improvement = current - value;
    beta = next;
    current = value;
    if (improvement < (options.tolerance ?? 1e-9) * Math.max(1, Math.abs(current))) {
      iterations++;
      break;
    }
  }
  return { coefficients: beta.slice(0, d - 1), intercept: beta[d - 1] as number, iterations };
}

/** Logit per row. */
export function logisticLogits(model: LogisticModel, data: Matrix): Float32Array {
  const out = new Float32Array(data.rows);
  for (let row = 0; row < data.rows; row++) out[row] = linear(data, row, model.coefficients, model.intercept);
  return out;
}

function linear(data: Matrix, row: number, beta: ArrayLike<number>, intercept: number): number {
  let sum = intercept;
  const offset = row * data.width;
  for (let column = 0; column < data.width; column++) {
    const value = data.values[offset + column] as number;
    if (value !== 0) sum += value * (beta[column] as number);
  }
  return sum;
}

function objective(
  data: Matrix,
  labels: Uint8Array,
  weights: Float32Array,
  beta: Float64Array,
  l2: number,
): number {
  const intercept = beta[data.width] as number;
  let loss = 0;
  for (let row = 0; row < data.rows; row++) {
    const z = linear(data, row, beta, intercept);
    const y = labels[row] as number;
    loss += (weights[row] as number) * (Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z))));
  }
  let penalty = 0;
  for (let column = 0; column < data.width; column++) penalty += (beta[column] as number) ** 2;
  return loss / Math.max(data.rows, 1) + l2 * penalty;
}

/**
 * Fills `columns`/`values` with one row's non-zero columns in increasing order, then the intercept's constant
 * 1 (column `width`); returns how many. One-hot rows are mostly zeros: the Gram sums touch only these.
 */
export function gatherNonZero(data: Matrix, row: number, columns: Int32Array, values: Float64Array): number {
  const offset = row * data.width;
  let count = 0;
  for (let column = 0; column < data.width; column++) {
    const value = data.values[offset + column] as number;
    if (value === 0) continue;
    columns[count] = column;
    values[count] = value;
    count++;
  }
  columns[count] = data.width;
  values[count] = 1;
  return count + 1;
}

/** Gradient and Hessian of the objective; the Hessian sums over each row's non-zero columns only. */
function derivatives(
  data: Matrix,
  labels: Uint8Array,
  weights: Float32Array,
  beta: Float64Array,
  l2: number,
  n: number,
): { gradient: Float64Array; hessian: Float64Array } {
  const width = data.width;
  const d = width + 1;
  const gradient = new Float64Array(d);
  const hessian = new Float64Array(d * d);
  const columns = new Int32Array(d);
  const values = new Float64Array(d);
  for (let row = 0; row < data.rows; row++) {
    const count = gatherNonZero(data, row, columns, values);
    let z = 0;
    for (let k = 0; k < count; k++) z += (values[k] as number) * (beta[columns[k] as number] as number);
    const p = 1 / (1 + Math.exp(-z));
    const w = (weights[row] as number) / n;
    const residual = w * (p - (labels[row] as number));
    const curvature = w * Math.max(p * (1 - p), 1e-12);
    for (let a = 0; a < count; a++) {
      const columnA = columns[a] as number;
      const valueA = values[a] as number;
      gradient[columnA] = (gradient[columnA] as number) + residual * valueA;
      // Columns are in increasing order: the upper triangle only (mirrored below).
      const rowOffset = columnA * d;
      const scaled = curvature * valueA;
      for (let b = a; b < count; b++) {
        const columnB = columns[b] as number;
        hessian[rowOffset + columnB] =
          (hessian[rowOffset + columnB] as number) + scaled * (values[b] as number);
      }
    }
  }
  for (let i = 0; i < d; i++)
    for (let j = i + 1; j < d; j++) hessian[j * d + i] = hessian[i * d + j] as number;
  for (let column = 0; column < width; column++) {
    gradient[column] = (gradient[column] as number) + 2 * l2 * (beta[column] as number);
    hessian[column * d + column] = (hessian[column * d + column] as number) + 2 * l2;
  }
  // A column that is zero in every row (a category only the validation rows hold) stays solvable.
  for (let column = 0; column < d; column++)
    hessian[column * d + column] = (hessian[column * d + column] as number) + 1e-10;
  return { gradient, hessian };
}

/** Solves H·x = g for a symmetric positive definite H (Cholesky). */
export function solveSymmetric(hessian: Float64Array, gradient: Float64Array, d: number): Float64Array {
  const lower = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = hessian[i * d + j] as number;
      for (let k = 0; k < j; k++) sum -= (lower[i * d + k] as number) * (lower[j * d + k] as number);
      if (i === j) lower[i * d + i] = Math.sqrt(Math.max(sum, 1e-300));
      else lower[i * d + j] = sum / (lower[j * d + j] as number);
    }
  }
  const forward = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let sum = gradient[i] as number;
    for (let k = 0; k < i; k++) sum -= (lower[i * d + k] as number) * (forward[k] as number);
    forward[i] = sum / (lower[i * d + i] as number);
  }
  const solution = new Float64Array(d);
  for (let i = d - 1; i >= 0; i--) {
    let sum = forward[i] as number;
    for (let k = i + 1; k < d; k++) sum -= (lower[k * d + i] as number) * (solution[k] as number);
    solution[i] = sum / (lower[i * d + i] as number);
  }
  return solution;
}
