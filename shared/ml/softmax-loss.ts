import * as tf from '@tensorflow/tfjs';
import { HeapScratch, readValues, ScratchBuffer } from './kernels/heap-io';
import {
  type RowStats,
  softmaxRowsAt,
  softmaxRowsInPlace,
  softmaxScratchBytes,
} from './kernels/softmax-rows';

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
 * The loss of `logits` ([rows × columns], row-major) plus `bias` (per column, when given) and, written over them in
 * place, its gradient with respect to them; with the gradient's column sums (a candidate bias's gradient).
 */
export function softmaxLossInPlace(
  logits: Float32Array,
  columns: number,
  rows: SoftmaxLossRows,
  bias?: Float32Array,
): { loss: number; columnSums: Float32Array } {
  return softmaxLossPass(logits, bias, columns, rows, (scales) =>
    softmaxRowsInPlace(logits, rows.targetColumns.length, columns, scales, bias),
  );
}

/**
 * The loss pass around a softmax of the rows (`softmax`, given each row's scale, adds the bias and replaces each
 * row by its scaled softmax): the rows' targets and hits before it, the loss and the targets' and negatives'
 * gradients after it. `logits` may be a view of the wasm heap: nothing here calls TF.js.
 */
function softmaxLossPass(
  logits: Float32Array,
  bias: Float32Array | undefined,
  columns: number,
  rows: SoftmaxLossRows,
  softmax: (scales: Float32Array) => RowStats,
): { loss: number; columnSums: Float32Array } {
  const { targetColumns, hits, weights, positive, denominator } = rows;
  const count = targetColumns.length;
  const targetLogits = new Float32Array(count);
  const rowWeights = new Float32Array(count);
  // What the softmax pass scales each row by: its weight, 0 for a negative row (its gradient is written below).
  const scales = new Float32Array(count);
  // A negative row's margin against its mean logit, taken before the softmax pass overwrites the row.
  const margins = new Map<number, number>();
  let biasMean = 0;
  if (bias && positive) for (let column = 0; column < columns; column++) biasMean += bias[column] as number;
  biasMean /= columns;
  for (let row = 0; row < count; row++) {
    const base = row * columns;
    const targetColumn = targetColumns[row] as number;
    targetLogits[row] = (logits[base + targetColumn] as number) + (bias ? (bias[targetColumn] as number) : 0);
    const weight = (weights ? (weights[row] as number) : 1) / denominator;
    rowWeights[row] = weight;
    if (positive && positive[row] === 0) {
      let mean = 0;
      for (let column = 0; column < columns; column++) mean += logits[base + column] as number;
      margins.set(row, (targetLogits[row] as number) - mean / columns - biasMean);
      continue;
    }
    scales[row] = weight;
    // Accidental hits take no part in the softmax: −∞ logits, zero gradient.
    if (hits)
      for (let at = hits.offsets[row] as number; at < (hits.offsets[row + 1] as number); at++)
        logits[base + (hits.columns[at] as number)] = -Infinity;
  }
  const { max, sum, columnSums } = softmax(scales);
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

/** The logits matrix off the wasm heap, reused step after step (one per thread). */
const logitsScratch = new ScratchBuffer();
/** The softmax kernel's scratch on the wasm heap (one per thread). */
const heapScratch = new HeapScratch();

/**
 * The fused op: `userVectors` U [rows, d], `candidateVectors` V [columns, d], `candidateBias` b [columns];
 * returns the scalar loss, differentiable in all three. On wasm with a multiple of 4 columns the whole pass runs
 * on the product U·Vᵀ where TF.js left it on its heap, and that matrix, overwritten by the gradient, is what the
 * backward products read: no copy of the [rows × columns] matrix (there were four, 2.6 MB each at 512 × 1,280,
 * which two gradient threads contend for). Elsewhere the logits are copied out and the gradient back in.
 */
export function softmaxLoss(
  userVectors: tf.Tensor2D,
  candidateVectors: tf.Tensor2D,
  candidateBias: tf.Tensor1D,
  rows: SoftmaxLossRows,
): tf.Scalar {
  const columns = candidateVectors.shape[0];
  const count = userVectors.shape[0];
  const onHeap = tf.getBackend() === 'wasm' && columns % 4 === 0;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [users, candidates, bias] = args as tf.Tensor2D[];
    const save = args[3] as tf.GradSaveFunc;
    const product = tf.matMul(users as tf.Tensor2D, candidates as tf.Tensor2D, false, true);
    let result: { loss: number; columnSums: Float32Array };
    let logits: Float32Array | undefined;
    if (onHeap) {
      const { memory, offset } = heapScratch.reserve(softmaxScratchBytes(count, columns));
      // Views taken after the reservation (a growing heap detaches them), used before the next TF.js call.
      const values = readValues(product);
      const biasValues = readValues(bias as tf.Tensor);
      const place = { matrix: values.byteOffset, bias: biasValues.byteOffset, scratch: offset };
      result = softmaxLossPass(values, biasValues, columns, rows, (scales) =>
        softmaxRowsAt(memory, place, count, columns, scales),
      );
      // The product now holds the gradient; saved (when recording) for the backward products.
      save([users as tf.Tensor2D, candidates as tf.Tensor2D, product]);
    } else {
      logits = logitsScratch.take(count * columns, false);
      logits.set(readValues(product));
      result = softmaxLossInPlace(logits, columns, rows, readValues(bias as tf.Tensor));
      save([users as tf.Tensor2D, candidates as tf.Tensor2D]);
    }
    product.dispose();
    const { loss, columnSums } = result;
    return {
      value: tf.scalar(loss),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const scale = readValues(dy as tf.Tensor)[0] as number;
        let unscaled = saved[2];
        if (!unscaled) {
          unscaled = tf.tensor2d(logits as Float32Array, [count, columns]);
          logitsScratch.give(logits as Float32Array);
        }
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
