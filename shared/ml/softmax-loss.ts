import * as tf from '@tensorflow/tfjs';
import { readValues, ScratchBuffer } from './kernels/heap-io';
import { softmaxRowsInPlace } from './kernels/softmax-rows';

/**
 * The retrieval loss of a training part as one fused op: logits = U·Vᵀ + b (TF.js's product), then in one pass
 * per row the softmax cross-entropy over the row's candidates — accidental hits left out — and its gradient with
 * respect to the logits; backward, the two products of that gradient with V and U. Composed from TF.js ops it
 * was ~40 kernels over [rows × candidates] matrices (an additive −1e9 mask, max, exp, sums, the target logit's
 * gathers and their gradients): memory traffic that two gradient threads contend for.
 *
 * Per row r with target column t_r and weight w_r (1 unless the batch is weighted), divided by `denominator`:
 * - a positive: w_r · (log Σ_{j ∉ hits(r)} exp(l_rj) − l_rt), the sampled (or full) softmax cross-entropy;
 * - a negative (the event policy's dislikes): w_r · softplus(l_rt − mean_j l_rj), a pairwise loss against the
 *   average candidate — "the disliked item should score below a typical one".
 */

export interface SoftmaxLossRows {
  /** Each row's target among the candidate columns. */
  readonly targetColumns: Int32Array;
  /** Sampled softmax's accidental hits: the other columns holding each row's target (`accidentalHits`). */
  readonly hits?: AccidentalHits;
  /** Per-row weights and positive flags (weighted batches); absent = every row a positive of weight 1. */
  readonly weights?: Float32Array;
  readonly positive?: Uint8Array;
  /** The batch's size (or total weight): the loss is a mean over the whole batch, whatever part this is. */
  readonly denominator: number;
}

/** Row r's accidental-hit columns are columns[offsets[r] .. offsets[r + 1]). */
export interface AccidentalHits {
  readonly offsets: Int32Array;
  readonly columns: Int32Array;
}

/**
 * Sampled softmax's accidental hits (TFRS's `remove_accidental_hits`): a sampled negative or another row's
 * in-batch item that is the row's own target would be pushed down as if it were a negative. Row r's own target
 * is candidate firstRow + r (the group's targets come first); every other candidate equal to it is a hit.
 */
export function accidentalHits(targets: Int32Array, candidates: Int32Array, firstRow = 0): AccidentalHits {
  const columnsOf = new Map<number, number[]>();
  candidates.forEach((candidate, column) => {
    const list = columnsOf.get(candidate);
    if (list) list.push(column);
    else columnsOf.set(candidate, [column]);
  });
  const offsets = new Int32Array(targets.length + 1);
  const columns: number[] = [];
  targets.forEach((target, row) => {
    for (const column of columnsOf.get(target) ?? []) if (column !== firstRow + row) columns.push(column);
    offsets[row + 1] = columns.length;
  });
  return { offsets, columns: Int32Array.from(columns) };
}

/**
 * The loss of `logits` ([rows × columns], row-major) and, written over them in place, its gradient with
 * respect to them; with the gradient's column sums (a candidate bias's gradient).
 */
export function softmaxLossInPlace(
  logits: Float32Array,
  columns: number,
  rows: SoftmaxLossRows,
): { loss: number; columnSums: Float32Array } {
  const { targetColumns, hits, weights, positive, denominator } = rows;
  const count = targetColumns.length;
  const targetLogits = new Float32Array(count);
  const rowWeights = new Float32Array(count);
  // What the softmax pass scales each row by: its weight, 0 for a negative row (its gradient is written below).
  const scales = new Float32Array(count);
  // A negative row's margin against its mean logit, taken before the softmax pass overwrites the row.
  const margins = new Map<number, number>();
  for (let row = 0; row < count; row++) {
    const base = row * columns;
    targetLogits[row] = logits[base + (targetColumns[row] as number)] as number;
    const weight = (weights ? (weights[row] as number) : 1) / denominator;
    rowWeights[row] = weight;
    if (positive && positive[row] === 0) {
      let mean = 0;
      for (let column = 0; column < columns; column++) mean += logits[base + column] as number;
      margins.set(row, (targetLogits[row] as number) - mean / columns);
      continue;
    }
    scales[row] = weight;
    // Accidental hits take no part in the softmax: −∞ logits, zero gradient.
    if (hits)
      for (let at = hits.offsets[row] as number; at < (hits.offsets[row + 1] as number); at++)
        logits[base + (hits.columns[at] as number)] = -Infinity;
  }
  const { max, sum, columnSums } = softmaxRowsInPlace(logits, count, columns, scales);
  let loss = 0;
  for (let row = 0; row < count; row++) {
    const base = row * columns;
    const targetColumn = targetColumns[row] as number;
    const weight = rowWeights[row] as number;
    const margin = margins.get(row);
    if (margin === undefined) {
      loss += weight * (Math.log(sum[row] as number) + (max[row] as number) - (targetLogits[row] as number));
      logits[base + targetColumn] = (logits[base + targetColumn] as number) - weight;
      columnSums[targetColumn] = (columnSums[targetColumn] as number) - weight;
    } else {
      loss += weight * (margin > 0 ? margin + Math.log1p(Math.exp(-margin)) : Math.log1p(Math.exp(margin)));
      const slope = weight / (1 + Math.exp(-margin));
      logits.fill(-slope / columns, base, base + columns);
      logits[base + targetColumn] = (logits[base + targetColumn] as number) + slope;
      for (let column = 0; column < columns; column++)
        columnSums[column] = (columnSums[column] as number) - slope / columns;
      columnSums[targetColumn] = (columnSums[targetColumn] as number) + slope;
    }
  }
  return { loss, columnSums };
}

/** The logits matrix, reused step after step (one per thread). */
const logitsScratch = new ScratchBuffer();

/**
 * The fused op: `userVectors` U [rows, d], `candidateVectors` V [columns, d], `candidateBias` b [columns];
 * returns the scalar loss, differentiable in all three.
 */
export function softmaxLoss(
  userVectors: tf.Tensor2D,
  candidateVectors: tf.Tensor2D,
  candidateBias: tf.Tensor1D,
  rows: SoftmaxLossRows,
): tf.Scalar {
  const columns = candidateVectors.shape[0];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [users, candidates, bias] = args as tf.Tensor2D[];
    const save = args[3] as tf.GradSaveFunc;
    const product = tf.tidy(() =>
      tf.add(tf.matMul(users as tf.Tensor2D, candidates as tf.Tensor2D, false, true), bias as tf.Tensor),
    );
    const count = product.shape[0] as number;
    const logits = logitsScratch.take(count * columns, false);
    logits.set(readValues(product));
    product.dispose();
    const { loss, columnSums } = softmaxLossInPlace(logits, columns, rows);
    save([users as tf.Tensor2D, candidates as tf.Tensor2D]);
    return {
      value: tf.scalar(loss),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const scale = readValues(dy as tf.Tensor)[0] as number;
        const unscaled = tf.tensor2d(logits, [count, columns]);
        logitsScratch.give(logits);
        // The loss is usually summed into the step's total as it is: dy = 1, no product needed.
        const gradient = scale === 1 ? unscaled : unscaled.mul(tf.scalar(scale));
        return [
          gradient.matMul(saved[1] as tf.Tensor2D),
          gradient.matMul(saved[0] as tf.Tensor2D, true, false),
          // The bias's gradient: the column sums the softmax pass kept.
          tf.tensor1d(scale === 1 ? columnSums : columnSums.map((value) => value * scale)),
        ];
      },
    };
  }) as (users: tf.Tensor2D, candidates: tf.Tensor2D, bias: tf.Tensor1D) => tf.Scalar;
  return op(userVectors, candidateVectors, candidateBias);
}
