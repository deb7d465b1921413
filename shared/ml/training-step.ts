import * as tf from '@tensorflow/tfjs';
import type { SeededRandom } from '../data/random';
import type { Split } from './interactions';
import { gatherRowsOf, RowSlots } from './lazy-adam';
import {
  fillContext,
  matMulAddBias,
  ROW_SPARSE_WEIGHTS,
  towerItemBiases,
  towerItemVectors,
  type TowerTables,
  towerUserVectors,
  type TwoTowerShape,
} from './two-tower';

/**
 * One training step's gradient, for a part of a batch. A step's batch is cut into parts by rows; each part is
 * computed on its own — on the training thread or on a gradient worker (`gradient-workers.ts`) — and the parts'
 * gradients are summed. The loss is a sum over rows (each part divides by the whole batch's size or weight) and
 * every part scores its rows against the whole batch's candidates, so the sum is the whole batch's gradient.
 */

/** The model's attributes a step reads by row (categories, numeric features), as `TwoTowerShape` holds them. */
export type StepShape = Omit<TwoTowerShape, 'embeddingDim' | 'sequenceLength'> & {
  readonly embeddingDim: number;
};

/** A weight as the training step reads it: its values (row-major) and shape. */
export interface WeightArray {
  readonly values: Float32Array;
  readonly shape: readonly number[];
}

/** Every weight by name, the row-sparse ones (ROW_SPARSE_WEIGHTS) included. */
export type WeightArrays = ReadonlyMap<string, WeightArray>;

/** One part of a step's batch, with every item and user index rewritten into the part's local rows. */
export interface BatchPart {
  /** Rows of this part. */
  readonly size: number;
  /** The batch row of this part's first row: part row r's own target is candidate column firstRow + r. */
  readonly firstRow: number;
  /** Examples in the whole batch (the loss is a mean over them). */
  readonly batchSize: number;
  /** Sum of the whole batch's example weights (the weighted loss is divided by it). */
  readonly batchWeight: number;
  /** Parts the batch is cut into (each adds its share of the candidates' L2 penalty). */
  readonly parts: number;
  /** [size × N] local item rows of each example's history (0 = padding, when the batch has padding). */
  readonly context: Int32Array;
  readonly users: Int32Array;
  /** Local item row of each example's target. */
  readonly targets: Int32Array;
  /** Sampled softmax: every target of the batch, then the sampled negatives, as local item rows. */
  readonly candidates: Int32Array;
  readonly weights: Float32Array;
  /** 1 for a positive example, 0 for a negative one (the event policy's dislikes). */
  readonly positive: Uint8Array;
  /** The model's item rows (item index + 1; 0 = padding) by local row; with full softmax every row. */
  readonly itemRows: Int32Array;
  readonly userRows: Int32Array;
}

export interface LossSettings {
  readonly fullSoftmax: boolean;
  /** log(count + 1) per item: the sampler's q, for the log-q correction. */
  readonly logPopularity: Float32Array;
  /** Whether any example has a weight other than 1 or is negative (else the plain mean cross-entropy). */
  readonly weighted: boolean;
  readonly dropout: number;
  readonly l2: number;
}

/** A part's gradient: one row per local item / user row, and each dense weight whole (in `denseNames` order). */
export interface PartGradients {
  readonly loss: number;
  readonly itemEmbedding: Float32Array;
  readonly itemBias: Float32Array;
  readonly userEmbedding: Float32Array;
  readonly dense: Float32Array[];
}

/** The dense weights' names in the order gradients list them (every weight but the row-sparse ones). */
export function denseWeightNames(weights: WeightArrays): string[] {
  return [...weights.keys()].filter((name) => !(ROW_SPARSE_WEIGHTS as readonly string[]).includes(name));
}

/**
 * Training examples: every training position of a positive (the history before it as context), and every
 * negative pair (the positives before it as context) — with the event policy's loss weights.
 */
export interface Examples {
  readonly users: Int32Array;
  /** How much of the user's training sequence is context. */
  readonly positions: Int32Array;
  /** Target item of a negative example; -1 for a positive (its target is the sequence's item at `position`). */
  readonly negativeItems: Int32Array;
  readonly weights: Float32Array;
  /** Whether any example has a weight other than 1 or is negative (else the plain mean cross-entropy). */
  readonly weighted: boolean;
}

export function buildExamples(split: Split): Examples {
  let count = split.negatives.users.length;
  for (const sequence of split.train) count += sequence.length;
  const users = new Int32Array(count);
  const positions = new Int32Array(count);
  const negativeItems = new Int32Array(count).fill(-1);
  const weights = new Float32Array(count);
  let weighted = split.negatives.users.length > 0;
  let index = 0;
  split.train.forEach((sequence, user) => {
    const sequenceWeights = split.trainWeights[user] as Float32Array;
    for (let position = 0; position < sequence.length; position++) {
      users[index] = user;
      positions[index] = position;
      const weight = sequenceWeights[position] ?? 1;
      weights[index] = weight;
      if (weight !== 1) weighted = true;
      index++;
    }
  });
  split.negatives.users.forEach((user, negative) => {
    users[index] = user;
    positions[index] = split.negatives.positions[negative] as number;
    negativeItems[index] = split.negatives.items[negative] as number;
    weights[index] = split.negatives.weights[negative] as number;
    index++;
  });
  return { users, positions, negativeItems, weights, weighted };
}

/** Builds each step's parts from example indices (reusing its slot arrays across steps). */
export class BatchAssembler {
  private readonly itemSlots: RowSlots[] = [];
  private readonly userSlots: RowSlots[] = [];
  private readonly allItemRows?: Int32Array;

  constructor(
    private readonly split: Split,
    private readonly examples: Examples,
    private readonly shape: Pick<TwoTowerShape, 'numItems' | 'numUsers'>,
    private readonly sequenceLength: number,
    fullSoftmax: boolean,
  ) {
    // With full softmax every item row is in every step: the local rows are the model's rows.
    if (fullSoftmax) this.allItemRows = Int32Array.from({ length: shape.numItems + 1 }, (_, row) => row);
  }

  /** The batch of `indices` in `parts` parts of (nearly) equal rows; `sampled` are sampled-softmax negatives. */
  assemble(indices: Int32Array, sampled: Int32Array | undefined, parts = 1): BatchPart[] {
    const { split, examples } = this;
    const n = this.sequenceLength;
    const batchSize = indices.length;
    const targetRows = new Int32Array(batchSize);
    let batchWeight = 0;
    for (let row = 0; row < batchSize; row++) {
      const example = indices[row] as number;
      const negativeItem = examples.negativeItems[example] as number;
      const sequence = split.train[examples.users[example] as number] as Int32Array;
      targetRows[row] =
        (negativeItem >= 0 ? negativeItem : (sequence[examples.positions[example] as number] as number)) + 1;
      batchWeight += examples.weights[example] as number;
    }
    const count = Math.max(1, Math.min(parts, batchSize));
    const out: BatchPart[] = [];
    for (let part = 0; part < count; part++) {
      const firstRow = Math.floor((part * batchSize) / count);
      const endRow = Math.floor(((part + 1) * batchSize) / count);
      const itemSlots = this.allItemRows
        ? undefined
        : this.slotsOf(this.itemSlots, part, this.shape.numItems + 1);
      const userSlots = this.slotsOf(this.userSlots, part, this.shape.numUsers + 1);
      const itemSlot = (row: number) => (itemSlots ? itemSlots.slot(row) : row);
      // Every part's candidates are the whole batch's: its targets (in-batch negatives), then the sampled items.
      const candidates = new Int32Array(batchSize + (sampled?.length ?? 0));
      for (let row = 0; row < batchSize; row++) candidates[row] = itemSlot(targetRows[row] as number);
      sampled?.forEach((item, index) => (candidates[batchSize + index] = itemSlot(item + 1)));
      const size = endRow - firstRow;
      const context = new Int32Array(size * n);
      const users = new Int32Array(size);
      const weights = new Float32Array(size);
      const positive = new Uint8Array(size);
      for (let row = 0; row < size; row++) {
        const example = indices[firstRow + row] as number;
        const user = examples.users[example] as number;
        users[row] = userSlots.slot(user + 1);
        weights[row] = examples.weights[example] as number;
        positive[row] = (examples.negativeItems[example] as number) >= 0 ? 0 : 1;
        fillContext(
          split.train[user] as Int32Array,
          examples.positions[example] as number,
          n,
          context,
          row * n,
        );
      }
      for (let index = 0; index < context.length; index++)
        context[index] = itemSlot(context[index] as number);
      out.push({
        size,
        firstRow,
        batchSize,
        batchWeight,
        parts: count,
        context,
        users,
        targets: candidates.slice(firstRow, endRow),
        candidates,
        weights,
        positive,
        itemRows: this.allItemRows ?? (itemSlots as RowSlots).take(),
        userRows: userSlots.take(),
      });
    }
    return out;
  }

  private slotsOf(slots: RowSlots[], part: number, rows: number): RowSlots {
    let found = slots[part];
    if (!found) {
      found = new RowSlots(rows);
      slots[part] = found;
    }
    return found;
  }
}

/**
 * The gradient of a part's loss with respect to its local item, item-bias and user rows (copied out of the
 * row-sparse tables) and the dense weights. `random` draws the part's dropout masks.
 */
export function partGradients(
  weights: WeightArrays,
  shape: StepShape,
  part: BatchPart,
  settings: LossSettings,
  random: SeededRandom,
): PartGradients {
  const d = shape.embeddingDim;
  const denseNames = denseWeightNames(weights);
  const weight = (name: string) => weights.get(name) as WeightArray;
  const rowsOf = (name: string, rows: Int32Array) =>
    gatherRowsOf(weight(name).values, d, rows, (length) => new Float32Array(length));
  const { value, grads } = tf.tidy(() => {
    const local = localAttributes(shape, part.itemRows, part.userRows);
    const dense = denseNames.map((name) => tf.tensor(weight(name).values, [...weight(name).shape]));
    const lossOf = (...args: tf.Tensor[]): tf.Scalar => {
      const [itemEmbedding, itemBias, userEmbedding, ...denseValues] = args;
      return partLoss(
        {
          ...local,
          itemEmbedding: itemEmbedding as tf.Tensor2D,
          itemBias: itemBias as tf.Tensor1D,
          userEmbedding: userEmbedding as tf.Tensor2D,
          dense: new Map(
            denseNames.map((name, index) => [name, denseValues[index] as tf.Tensor]),
          ) as TowerTables['dense'],
        },
        part,
        settings,
        random,
      );
    };
    return tf.valueAndGrads(lossOf)([
      tf.tensor2d(rowsOf('item_embedding', part.itemRows), [part.itemRows.length, d]),
      tf.tensor1d(
        gatherRowsOf(weight('item_bias').values, 1, part.itemRows, (length) => new Float32Array(length)),
      ),
      tf.tensor2d(rowsOf('user_embedding', part.userRows), [part.userRows.length, d]),
      ...dense,
    ]);
  });
  const gradientOf = (index: number) => (grads[index] as tf.Tensor).dataSync() as Float32Array;
  const result: PartGradients = {
    loss: (value.dataSync() as Float32Array)[0] as number,
    itemEmbedding: gradientOf(0),
    itemBias: gradientOf(1),
    userEmbedding: gradientOf(2),
    dense: denseNames.map((_, index) => gradientOf(3 + index)),
  };
  tf.dispose([value, ...grads]);
  return result;
}

/** The sum of a step's part gradients, with the row-sparse ones over the union of the parts' rows. */
export interface MergedGradients {
  readonly loss: number;
  readonly itemRows: Int32Array;
  readonly itemEmbedding: Float32Array;
  readonly itemBias: Float32Array;
  readonly userRows: Int32Array;
  readonly userEmbedding: Float32Array;
  readonly dense: Float32Array[];
}

/** Sums part gradients (a single part passes through unchanged). */
export class GradientMerger {
  private readonly itemSlots: RowSlots;
  private readonly userSlots: RowSlots;

  constructor(
    itemRows: number,
    userRows: number,
    private readonly width: number,
  ) {
    this.itemSlots = new RowSlots(itemRows);
    this.userSlots = new RowSlots(userRows);
  }

  merge(results: readonly { part: BatchPart; gradients: PartGradients }[]): MergedGradients {
    const [only] = results;
    if (only && results.length === 1) {
      const { part, gradients } = only;
      return { ...gradients, itemRows: part.itemRows, userRows: part.userRows };
    }
    const width = this.width;
    let loss = 0;
    const itemTargets = results.map(({ part }) =>
      Int32Array.from(part.itemRows, (row) => this.itemSlots.slot(row)),
    );
    const itemRows = this.itemSlots.take();
    const userTargets = results.map(({ part }) =>
      Int32Array.from(part.userRows, (row) => this.userSlots.slot(row)),
    );
    const userRows = this.userSlots.take();
    const itemEmbedding = new Float32Array(itemRows.length * width);
    const itemBias = new Float32Array(itemRows.length);
    const userEmbedding = new Float32Array(userRows.length * width);
    const dense = (results[0] as { gradients: PartGradients }).gradients.dense.map(
      (gradient) => new Float32Array(gradient.length),
    );
    results.forEach(({ gradients }, index) => {
      loss += gradients.loss;
      addRows(itemEmbedding, gradients.itemEmbedding, itemTargets[index] as Int32Array, width);
      addRows(itemBias, gradients.itemBias, itemTargets[index] as Int32Array, 1);
      addRows(userEmbedding, gradients.userEmbedding, userTargets[index] as Int32Array, width);
      gradients.dense.forEach((gradient, weight) => {
        const sum = dense[weight] as Float32Array;
        for (let at = 0; at < gradient.length; at++) sum[at] = (sum[at] as number) + (gradient[at] as number);
      });
    });
    return { loss, itemRows, itemEmbedding, itemBias, userRows, userEmbedding, dense };
  }
}

/** Adds row r of `rows` into row targets[r] of `sum`. */
function addRows(sum: Float32Array, rows: Float32Array, targets: Int32Array, width: number): void {
  for (let row = 0; row < targets.length; row++) {
    const to = (targets[row] as number) * width;
    const from = row * width;
    for (let column = 0; column < width; column++)
      sum[to + column] = (sum[to + column] as number) + (rows[from + column] as number);
  }
}

/** The item and user attributes (categories, features) of a part's local rows. */
function localAttributes(
  shape: StepShape,
  itemRows: Int32Array,
  userRows: Int32Array,
): Pick<TowerTables, 'itemCategories' | 'itemFeatures' | 'userFeatures'> {
  const userFeatureDim = shape.userFeatures ? (shape.userFeatureDim ?? 0) : 0;
  return {
    ...(shape.itemCategories && shape.numCategories
      ? { itemCategories: localCategories(shape.itemCategories, shape.categorySlots ?? 1, itemRows) }
      : {}),
    ...(shape.itemFeatures && shape.itemFeatureDim
      ? { itemFeatures: localItemFeatures(shape.itemFeatures, shape.itemFeatureDim, itemRows) }
      : {}),
    ...(shape.userFeatures && userFeatureDim > 0
      ? {
          userFeatures: tf.tensor2d(
            gatherRowsOf(shape.userFeatures, userFeatureDim, userRows, (length) => new Float32Array(length)),
            [userRows.length, userFeatureDim],
          ),
        }
      : {}),
  };
}

/** The category rows of a batch's item rows (row 0, padding, has none). */
function localCategories(
  categories: Int32Array,
  slots: number,
  itemRows: Int32Array,
): tf.Tensor1D | tf.Tensor2D {
  const out = gatherRowsOf(categories, slots, itemRows, (size) => new Int32Array(size), 1);
  return slots === 1 ? tf.tensor1d(out, 'int32') : tf.tensor2d(out, [itemRows.length, slots], 'int32');
}

/** The numeric features of a batch's item rows (zeros for the padding row). */
function localItemFeatures(features: Float32Array, width: number, itemRows: Int32Array): tf.Tensor2D {
  const out = gatherRowsOf(features, width, itemRows, (size) => new Float32Array(size), 1);
  return tf.tensor2d(out, [itemRows.length, width]);
}

/**
 * A part's loss on its local tables: softmax cross-entropy (full or sampled) plus the L2 penalty, summed over the
 * part's rows and divided by the whole batch's size (or weight): the parts' losses add up to the batch's mean.
 */
function partLoss(
  tables: TowerTables,
  part: BatchPart,
  settings: LossSettings,
  random: SeededRandom,
): tf.Scalar {
  const { size, targets, candidates, itemRows, firstRow } = part;
  const n = part.context.length / size;
  const userVectors = towerUserVectors(
    tables,
    tf.tensor2d(part.context, [size, n], 'int32'),
    tf.tensor1d(part.users, 'int32'),
    {
      training: true,
      dropout: settings.dropout,
      random,
      projectTableRows: itemRows.length < size * n,
    },
  );
  const targetTensor = tf.tensor1d(targets, 'int32');
  // Cross-entropy as logsumexp(logits) - target logit: no one-hot matrix over the catalogue.
  let logits: tf.Tensor2D;
  // Without the accidental-hit mask: the average candidate a negative is compared with.
  let rawLogits: tf.Tensor2D | undefined;
  let targetLogits: tf.Tensor1D;
  let candidateVectors: tf.Tensor2D;
  if (settings.fullSoftmax) {
    // Local rows are the model's rows; column c of the logits is row c + 1.
    candidateVectors = towerItemVectors(tables);
    const biases = towerItemBiases(tables);
    logits = matMulAddBias(userVectors, candidateVectors, biases, true);
    const targetColumns = targetTensor.sub(tf.scalar(1, 'int32'));
    targetLogits = userVectors
      .mul(tf.gather(candidateVectors, targetColumns))
      .sum(1)
      .add(tf.gather(biases, targetColumns));
  } else {
    const candidateTensor = tf.tensor1d(candidates, 'int32');
    candidateVectors = towerItemVectors(tables, candidateTensor);
    const logQ = Float32Array.from(
      candidates,
      (slot) => settings.logPopularity[(itemRows[slot] as number) - 1] as number,
    );
    // log-q correction: popular items are sampled more often, so their logits are lowered by log q.
    const adjusted = towerItemBiases(tables, candidateTensor).sub(tf.tensor1d(logQ)) as tf.Tensor1D;
    rawLogits = matMulAddBias(userVectors, candidateVectors, adjusted, true);
    logits = rawLogits.add(
      tf.tensor2d(accidentalHitMask(targets, candidates, firstRow), [size, candidates.length]),
    );
    // Row r's positive is candidate firstRow + r (the batch's targets come first, in batch order).
    targetLogits = userVectors
      .mul(candidateVectors.slice([firstRow, 0], [size, -1]))
      .sum(1)
      .add(adjusted.slice([firstRow], [size]));
  }
  const crossEntropy = settings.weighted
    ? weightedFeedbackLoss(
        logits,
        rawLogits ?? logits,
        targetLogits,
        tf.tensor1d(part.weights),
        tf.tensor1d(part.positive, 'bool'),
      ).div(tf.scalar(part.batchWeight))
    : logSumExpRows(logits).sub(targetLogits).sum().div(tf.scalar(part.batchSize));
  const penalty = userVectors
    .square()
    .sum()
    .div(tf.scalar(part.batchSize))
    .add(candidateVectors.square().sum(1).mean().div(tf.scalar(part.parts)))
    .mul(settings.l2);
  return crossEntropy.add(penalty) as tf.Scalar;
}

/**
 * The loss under an event policy, per row from its logits over the candidates and its target's logit:
 * positives the weighted softmax cross-entropy (−log p), negatives a pairwise BPR loss against the average
 * candidate, −log σ(mean − s): "the disliked item should score below a typical one". (Unlikelihood,
 * −log(1 − p), barely moves an item whose p is already ~1/n, so a dismissed item kept its rank.) Summed with
 * the weights; the caller divides by the batch's total weight.
 */
function weightedFeedbackLoss(
  logits: tf.Tensor2D,
  unmaskedLogits: tf.Tensor2D,
  targetLogits: tf.Tensor1D,
  weights: tf.Tensor1D,
  positive: tf.Tensor1D,
): tf.Scalar {
  const positiveLoss = logSumExpRows(logits).sub(targetLogits);
  const negativeLoss = tf.softplus(targetLogits.sub(unmaskedLogits.mean(1)));
  return tf.where(positive, positiveLoss, negativeLoss).mul(weights).sum() as tf.Scalar;
}

/**
 * log Σ exp(x) per row, with the gradient written as softmax(x). TF.js's own
 * logSumExp differentiates through its max-shift, which costs an Equal over the
 * whole [batch, catalogue] logits matrix: 52 of 182 ms per ml-100k step (tf.profile, wasm).
 */
export const logSumExpRows = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const logits = args[0] as tf.Tensor2D;
  const save = args[1] as tf.GradSaveFunc;
  // One exp for value and gradient: the row's softmax is kept for the backward pass.
  const max = logits.max(1, true);
  const exp = expNonPositive(logits.sub(max));
  const total = exp.sum(1, true);
  const value = tf.log(total).add(max).reshape([logits.shape[0]]);
  save([exp.div(total)]);
  return {
    value,
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => [
      (saved[0] as tf.Tensor2D).mul((dy as tf.Tensor1D).expandDims(1)),
    ],
  };
}) as (logits: tf.Tensor2D) => tf.Tensor1D;

/**
 * exp(x) for x ≤ 0 as σ(x) / (1 − σ(x)): wasm's Exp calls the C library per element (8.8 ms for a
 * [512, 2,560] logits matrix), its Sigmoid is vectorised (XNNPACK); 1 − σ(x) ≥ ½ keeps the division exact to
 * float32 rounding, and σ(x) keeps full relative precision for very negative x.
 */
function expNonPositive(x: tf.Tensor): tf.Tensor {
  const sigmoid = tf.sigmoid(x);
  return sigmoid.div(tf.scalar(1).sub(sigmoid));
}

/**
 * Sampled softmax's accidental hits (TFRS's `remove_accidental_hits`): a sampled negative or another row's
 * in-batch item that is the row's own target would be pushed down as if it were a negative. Row r's own
 * target is candidate firstRow + r (the batch's targets come first); every other candidate equal to it gets
 * −1e9, added to the logits. Built from the index arrays (a constant of the step): the broadcast `tf.equal` it
 * replaces took 87 ms of a 183 ms step on wasm.
 */
export function accidentalHitMask(targets: Int32Array, candidates: Int32Array, firstRow = 0): Float32Array {
  const columns = candidates.length;
  const mask = new Float32Array(targets.length * columns);
  const columnsOf = new Map<number, number[]>();
  candidates.forEach((candidate, column) => {
    const list = columnsOf.get(candidate);
    if (list) list.push(column);
    else columnsOf.set(candidate, [column]);
  });
  targets.forEach((target, row) => {
    for (const column of columnsOf.get(target) ?? [])
      if (column !== firstRow + row) mask[row * columns + column] = -1e9;
  });
  return mask;
}
