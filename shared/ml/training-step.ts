import * as tf from '@tensorflow/tfjs';
import type { SeededRandom } from '../data/random';
import type { BatchPart, PartGradients } from './batch-parts';
import { readValues, ScratchBuffer } from './kernels/heap-io';
import { gatherRowsOf } from './lazy-adam';
import { type GradientSlot, gradientViews } from './merged-update';
import { accidentalHits, type SoftmaxLossRows, softmaxLoss } from './softmax-loss';
import {
  ROW_SPARSE_WEIGHTS,
  towerItemBiases,
  towerItemVectors,
  type TowerTables,
  towerUserVectors,
  type TwoTowerShape,
} from './two-tower';

/**
 * One training step's gradient, for a part of a batch (`batch-parts.ts`). A step's batch is cut into parts by rows; each part is
 * computed on its own — on the training thread or on a gradient worker (`gradient-workers.ts`) — and the parts'
 * gradients are summed. The loss is a sum over rows (each part divides by the whole batch's size or weight) and
 * every part scores its rows against its group's candidates, however the group is cut into parts, so the sum is
 * the whole batch's gradient.
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

export interface LossSettings {
  readonly fullSoftmax: boolean;
  /** log(count + 1) per item: the sampler's q, for the log-q correction. */
  readonly logPopularity: Float32Array;
  /** Whether any example has a weight other than 1 or is negative (else the plain mean cross-entropy). */
  readonly weighted: boolean;
  readonly dropout: number;
  readonly l2: number;
}

/** The dense weights' names in the order gradients list them (every weight but the row-sparse ones). */
export function denseWeightNames(weights: WeightArrays): string[] {
  return [...weights.keys()].filter((name) => !(ROW_SPARSE_WEIGHTS as readonly string[]).includes(name));
}

/** The part's local item and user rows, copied out of the tables (the tensors made from them copy them again). */
const localRows = { item: new ScratchBuffer(), user: new ScratchBuffer() };

/**
 * The gradient of a part's loss with respect to its local item, item-bias and user rows (copied out of the
 * row-sparse tables) and the dense weights, written into `output` when given (else new arrays). `random` draws
 * the part's dropout masks.
 */
export function partGradients(
  weights: WeightArrays,
  shape: StepShape,
  part: BatchPart,
  settings: LossSettings,
  random: SeededRandom,
  output?: GradientSlot,
): PartGradients {
  const d = shape.embeddingDim;
  const denseNames = denseWeightNames(weights);
  const weight = (name: string) => weights.get(name) as WeightArray;
  const rowsOf = (name: string, rows: Int32Array, scratch: ScratchBuffer) => {
    const values = scratch.take(rows.length * d, false);
    const tensor = tf.tensor2d(
      gatherRowsOf(weight(name).values, d, rows, () => values),
      [rows.length, d],
    );
    scratch.give(values);
    return tensor;
  };
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
      rowsOf('item_embedding', part.itemRows, localRows.item),
      tf.tensor1d(
        gatherRowsOf(weight('item_bias').values, 1, part.itemRows, (length) => new Float32Array(length)),
      ),
      rowsOf('user_embedding', part.userRows, localRows.user),
      ...dense,
    ]);
  });
  const loss = (value.dataSync() as Float32Array)[0] as number;
  const result: PartGradients = output
    ? gradientViews(output, loss)
    : {
        loss,
        itemEmbedding: new Float32Array(grads[0]?.size ?? 0),
        itemBias: new Float32Array(grads[1]?.size ?? 0),
        userEmbedding: new Float32Array(grads[2]?.size ?? 0),
        dense: denseNames.map((_, index) => new Float32Array(grads[3 + index]?.size ?? 0)),
      };
  // Each gradient read in place (on wasm a view of the backend's heap) straight into its destination.
  [result.itemEmbedding, result.itemBias, result.userEmbedding, ...result.dense].forEach((into, index) =>
    into.set(readValues(grads[index] as tf.Tensor)),
  );
  tf.dispose([value, ...grads]);
  return result;
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
  let candidateVectors: tf.Tensor2D;
  let candidateBias: tf.Tensor1D;
  let rows: Omit<SoftmaxLossRows, 'denominator'>;
  if (settings.fullSoftmax) {
    // Local rows are the model's rows; column c of the logits is row c + 1.
    candidateVectors = towerItemVectors(tables);
    candidateBias = towerItemBiases(tables);
    rows = { targetColumns: targets.map((row) => row - 1) };
  } else {
    const candidateTensor = tf.tensor1d(candidates, 'int32');
    candidateVectors = towerItemVectors(tables, candidateTensor);
    const logQ = Float32Array.from(
      candidates,
      (slot) => settings.logPopularity[(itemRows[slot] as number) - 1] as number,
    );
    // log-q correction: popular items are sampled more often, so their logits are lowered by log q.
    candidateBias = towerItemBiases(tables, candidateTensor).sub(tf.tensor1d(logQ));
    // Row r's positive is candidate firstRow + r (the group's targets come first, in batch order).
    rows = {
      targetColumns: Int32Array.from(targets, (_, row) => firstRow + row),
      hits: accidentalHits(targets, candidates, firstRow),
    };
  }
  const crossEntropy = softmaxLoss(userVectors, candidateVectors, candidateBias, {
    ...rows,
    ...(settings.weighted
      ? { weights: part.weights, positive: part.positive, denominator: part.batchWeight }
      : { denominator: part.batchSize }),
  });
  const penalty = userVectors
    .square()
    .sum()
    .div(tf.scalar(part.batchSize))
    .add(candidateVectors.square().sum(1).mean().div(tf.scalar(part.parts)))
    .mul(settings.l2);
  return crossEntropy.add(penalty) as tf.Scalar;
}
