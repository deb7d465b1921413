import * as tf from '@tensorflow/tfjs';
import type { SeededRandom } from '../data/random';
import { attentionPooling } from './attention-pooling';
import { ScratchBuffer } from './kernels/heap-io';

/**
 * The two-tower retrieval model: "everything is a mapping". Items and users are
 * mapped into one d-dimensional space and scored by a dot product, so serving
 * only needs precomputed item vectors and one user vector.
 *
 * - Item tower: item-id embedding (+ category embedding when items have one)
 *   plus a scalar bias (popularity prior), folded into the vector's last
 *   dimension for serving.
 * - User tower: a sequence encoder over the user's last N interactions — item
 *   embeddings plus learned position embeddings, attention pooling, and the most
 *   recent item on its own (recent behaviour predicts the next action best) —
 *   concatenated with a user-id embedding and projected to d dimensions.
 *
 * Written on raw TF.js ops (backend-agnostic); weights serialise to a TF.js
 * weights manifest (`model.json` + `weights.bin`).
 */
export interface TwoTowerShape {
  readonly numUsers: number;
  readonly numItems: number;
  /**
   * Category indices per item (1-based, 0 = none), `categorySlots` per item row-major — several for a list
   * attribute such as genres — and the number of categories; omit when items have none.
   */
  readonly itemCategories?: Int32Array;
  readonly numCategories?: number;
  /** Values per item in `itemCategories` (the most any item has). @default 1 */
  readonly categorySlots?: number;
  /** Numeric item features, row-major numItems × itemFeatureDim (standardised). */
  readonly itemFeatures?: Float32Array;
  readonly itemFeatureDim?: number;
  /** Numeric user features, row-major (numUsers + 1) × userFeatureDim; row 0 is the unknown user. */
  readonly userFeatures?: Float32Array;
  readonly userFeatureDim?: number;
  readonly embeddingDim: number;
  readonly sequenceLength: number;
}

export const WEIGHT_NAMES = [
  'item_embedding',
  'item_bias',
  'category_embedding',
  'position_embedding',
  'user_embedding',
  'attention_kernel',
  'attention_bias',
  'attention_query',
  'output_kernel',
  'output_bias',
  'item_feature_kernel',
] as const;
type WeightName = (typeof WEIGHT_NAMES)[number];

/**
 * x · W + b, with the bias as one more row of W against a column of ones on x (`kernelRows`: W is given
 * transposed, one row per output, as item vectors are). The same value as a broadcast add, but the bias's gradient
 * comes out of the product instead of a column sum over every row of the output (6 ms of a 95 ms ml-100k step
 * for the logits alone).
 */
export function matMulAddBias(
  x: tf.Tensor2D,
  kernel: tf.Tensor2D,
  bias: tf.Tensor1D,
  kernelRows = false,
): tf.Tensor2D {
  const withOnes = tf.concat([x, tf.ones([x.shape[0], 1])], 1);
  return kernelRows
    ? (withOnes.matMul(tf.concat([kernel, bias.expandDims(1)], 1), false, true) as tf.Tensor2D)
    : (withOnes.matMul(tf.concat([kernel, bias.expandDims(0)], 0)) as tf.Tensor2D);
}

/**
 * The tensors the towers compute from. The model's own tables hold every item and user; a training step
 * passes a batch's local tables instead — only the rows the batch touches — so its cost and its gradients
 * do not grow with the catalogue (see `train-two-tower.ts`). Item-aligned tensors share `itemEmbedding`'s rows:
 * row 0 is the padding row (history before the first item), row r an item; the same for users.
 */
export interface TowerTables {
  readonly itemEmbedding: tf.Tensor2D;
  readonly itemBias: tf.Tensor1D;
  /** Category per item row ([rows] or [rows, slots] for list attributes; 0 = none). */
  readonly itemCategories?: tf.Tensor1D | tf.Tensor2D;
  readonly itemFeatures?: tf.Tensor2D;
  readonly userEmbedding: tf.Tensor2D;
  readonly userFeatures?: tf.Tensor2D;
  /** The weights every batch uses whole (attention, output layer, category and feature embeddings). */
  readonly dense: ReadonlyMap<WeightName, tf.Tensor>;
}

/** Weights a training step reads only by row (the rest are dense). */
export const ROW_SPARSE_WEIGHTS = ['item_embedding', 'item_bias', 'user_embedding'] as const;

function denseWeight(tables: TowerTables, name: WeightName): tf.Tensor {
  const value = tables.dense.get(name);
  if (!value) throw new Error(`two-tower weight ${name} is missing`);
  return value;
}

/**
 * Item vectors of item rows ([count, d]); all rows but the padding row when `rows` is omitted. An item's
 * vector is its id embedding plus its category embedding (the mean over a list attribute's values) plus
 * its numeric features through a linear map.
 */
export function towerItemVectors(tables: TowerTables, rows?: tf.Tensor1D): tf.Tensor2D {
  return tf.tidy(() => {
    const table = tables.itemEmbedding;
    const [tableRows, d] = table.shape;
    // All items: a slice (its gradient is a cheap pad), not a gather over every row.
    const pick = <T extends tf.Tensor>(aligned: T): T =>
      (rows ? tf.gather(aligned, rows) : aligned.slice(1, tableRows - 1)) as T;
    let vectors = (rows ? tf.gather(table, rows) : table.slice([1, 0], [tableRows - 1, d])) as tf.Tensor2D;
    const categoryEmbedding = tables.dense.get('category_embedding');
    if (tables.itemCategories && categoryEmbedding) {
      const categoryRows = pick(tables.itemCategories);
      const embedded = tf.gather(categoryEmbedding, categoryRows);
      if (categoryRows.rank === 1) vectors = vectors.add(embedded);
      else {
        // Several values (genres): the mean of their embeddings; padding (0) counts for nothing.
        const mask = categoryRows.greater(tf.scalar(0, 'int32')).cast('float32'); // [k, slots]
        const count = mask.sum(1, true).maximum(tf.scalar(1)); // [k, 1]
        vectors = vectors.add(embedded.mul(mask.expandDims(2)).sum(1).div(count));
      }
    }
    const featureKernel = tables.dense.get('item_feature_kernel');
    if (tables.itemFeatures && featureKernel) {
      vectors = vectors.add(pick(tables.itemFeatures).matMul(featureKernel as tf.Tensor2D));
    }
    return vectors;
  });
}

export function towerItemBiases(tables: TowerTables, rows?: tf.Tensor1D): tf.Tensor1D {
  const bias = tables.itemBias;
  return (rows ? tf.gather(bias, rows) : bias.slice([1], [bias.shape[0] - 1])) as tf.Tensor1D;
}

export interface UserTowerOptions {
  readonly training?: boolean;
  readonly dropout?: number;
  /**
   * Draws the dropout masks (training): a seeded generator, so a run is reproducible from its seed. TF.js's
   * `tf.dropout` draws from an unseeded one: two runs of the same config differed by ±0.012 in NDCG@10.
   */
  readonly random?: SeededRandom;
  /**
   * Run the attention's hidden layer once per row of the item table instead of once per history position
   * (tanh((e + p)·W + b) = tanh(e·W + (p·W + b))) and pool with the fused op (`attention-pooling.ts`): the
   * same values, far fewer FLOPs and kernels when the table is a batch's local rows (ml-100k: 1,683 rows instead
   * of 10,240 positions). Too slow for a catalogue-sized table (every row projected).
   */
  readonly projectTableRows?: boolean;
}

/**
 * User vectors from the last N interactions.
 * @param context [batch, N] item rows, 0 = padding, most recent last
 * @param users [batch] user rows, 0 = unknown user
 */
export function towerUserVectors(
  tables: TowerTables,
  context: tf.Tensor2D,
  users: tf.Tensor1D,
  options: UserTowerOptions = {},
): tf.Tensor2D {
  return tf.tidy(() => {
    const [batch, n] = context.shape;
    const d = tables.itemEmbedding.shape[1];
    const dropout = options.training ? (options.dropout ?? 0) : 0;
    const positions = denseWeight(tables, 'position_embedding') as tf.Tensor2D;
    const kernel = denseWeight(tables, 'attention_kernel') as tf.Tensor2D;
    const attentionBias = denseWeight(tables, 'attention_bias') as tf.Tensor1D;
    const query = denseWeight(tables, 'attention_query') as tf.Tensor2D;
    const last = tf.gather(tables.itemEmbedding, context.slice([0, n - 1], [batch, 1]).reshape([batch]));
    let pooled: tf.Tensor2D;
    if (options.projectTableRows) {
      pooled = attentionPooling(
        context.dataSync() as Int32Array,
        tables.itemEmbedding.matMul(kernel) as tf.Tensor2D,
        matMulAddBias(positions, kernel, attentionBias),
        tables.itemEmbedding,
        query,
      );
    } else {
      const mask = context.greater(tf.scalar(0, 'int32')).cast('float32'); // [b, N]
      const embedded = tf
        .gather(tables.itemEmbedding, context.reshape([-1]) as tf.Tensor1D)
        .reshape([batch, n, d]);
      const withPosition = embedded.add(positions.expandDims(0)).mul(mask.expandDims(2));
      const preActivation = matMulAddBias(
        withPosition.reshape([-1, d]) as tf.Tensor2D,
        kernel,
        attentionBias,
      );
      const logits = tf.tanh(preActivation).matMul(query).reshape([batch, n]);
      const masked = logits.add(tf.scalar(1, 'float32').sub(mask).mul(tf.scalar(-1e9)));
      const attention = tf.softmax(masked).mul(mask); // all-padding rows give zeros
      pooled = attention.expandDims(2).mul(embedded).sum(1);
    }
    const drop = (x: tf.Tensor2D): tf.Tensor2D => {
      if (dropout <= 0) return x;
      if (!options.random) return tf.dropout(x, dropout) as tf.Tensor2D;
      return x.mul(dropoutMask(x.shape, dropout, options.random));
    };
    const user = drop(tf.gather(tables.userEmbedding, users));
    const parts = [pooled, last, user];
    if (tables.userFeatures) parts.push(tf.gather(tables.userFeatures, users));
    const joined = drop(tf.concat(parts, 1) as tf.Tensor2D);
    return matMulAddBias(
      joined as tf.Tensor2D,
      denseWeight(tables, 'output_kernel') as tf.Tensor2D,
      denseWeight(tables, 'output_bias') as tf.Tensor1D,
    );
  });
}

/**
 * Inverted dropout's mask: each value dropped with probability `rate` (in 1/65,536ths) and the rest scaled by
 * 1 / (1 − that probability). Two values per random draw, one per 16-bit half: a step draws ~130k of them.
 */
export function dropoutMask(shape: [number, number], rate: number, random: SeededRandom): tf.Tensor2D {
  const threshold = Math.round(rate * 65_536);
  const kept = 65_536 / (65_536 - threshold);
  const values = maskScratch.take(shape[0] * shape[1], false);
  for (let index = 0; index < values.length; index += 2) {
    const bits = random.bits();
    values[index] = (bits & 0xffff) < threshold ? 0 : kept;
    if (index + 1 < values.length) values[index + 1] = bits >>> 16 < threshold ? 0 : kept;
  }
  const mask = tf.tensor2d(values, shape);
  maskScratch.give(values);
  return mask;
}
const maskScratch = new ScratchBuffer();

/** An aligned table with a zero row 0 in front (the padding row of the item/user tables). */
function withPaddingRow<T extends tf.Tensor>(values: T): T {
  return tf.tidy(() => tf.concat([tf.zerosLike(values.slice(0, 1)), values]) as T);
}

export class TwoTowerModel {
  readonly weights: Map<WeightName, tf.Variable>;
  /** The model's own tables: the variables plus the item/user attribute tensors, aligned with their rows. */
  readonly tables: TowerTables;
  private readonly constants: tf.Tensor[] = [];

  constructor(
    readonly shape: TwoTowerShape,
    initial?: Map<string, tf.Tensor>,
    seed = 42,
  ) {
    const d = shape.embeddingDim;
    const n = shape.sequenceLength;
    const userFeatureDim = shape.userFeatures ? (shape.userFeatureDim ?? 0) : 0;
    const suffix = Math.random().toString(36).slice(2);
    const init = (name: WeightName, dims: number[], make: () => tf.Tensor): tf.Variable => {
      const given = initial?.get(name);
      const value = given ? given.reshape(dims) : make();
      const variable = tf.variable(value, true, `${name}_${suffix}`, 'float32');
      value.dispose(); // the variable holds its own reference to the data
      return variable;
    };
    const normal = (dims: number[], std: number, offset: number) => () =>
      tf.randomNormal(dims, 0, std, 'float32', seed + offset);
    const entries: [WeightName, tf.Variable][] = [
      [
        'item_embedding',
        init('item_embedding', [shape.numItems + 1, d], normal([shape.numItems + 1, d], 0.05, 1)),
      ],
      ['item_bias', init('item_bias', [shape.numItems + 1], () => tf.zeros([shape.numItems + 1]))],
      ['position_embedding', init('position_embedding', [n, d], normal([n, d], 0.02, 2))],
      [
        'user_embedding',
        init('user_embedding', [shape.numUsers + 1, d], normal([shape.numUsers + 1, d], 0.02, 3)),
      ],
      ['attention_kernel', init('attention_kernel', [d, d], normal([d, d], 1 / Math.sqrt(d), 4))],
      ['attention_bias', init('attention_bias', [d], () => tf.zeros([d]))],
      ['attention_query', init('attention_query', [d, 1], normal([d, 1], 1 / Math.sqrt(d), 5))],
      [
        'output_kernel',
        init(
          'output_kernel',
          [3 * d + userFeatureDim, d],
          normal([3 * d + userFeatureDim, d], 1 / Math.sqrt(3 * d), 6),
        ),
      ],
      ['output_bias', init('output_bias', [d], () => tf.zeros([d]))],
    ];
    let itemCategories: tf.Tensor1D | tf.Tensor2D | undefined;
    let itemFeatures: tf.Tensor2D | undefined;
    let userFeatures: tf.Tensor2D | undefined;
    if (shape.itemCategories && shape.numCategories) {
      const c = shape.numCategories + 1;
      entries.push(['category_embedding', init('category_embedding', [c, d], normal([c, d], 0.02, 7))]);
      const slots = shape.categorySlots ?? 1;
      const categories = new Int32Array(slots + shape.itemCategories.length);
      categories.set(shape.itemCategories, slots);
      itemCategories =
        slots === 1
          ? tf.tensor1d(categories, 'int32')
          : tf.tensor2d(categories, [shape.numItems + 1, slots], 'int32');
    }
    if (shape.itemFeatures && shape.itemFeatureDim) {
      const f = shape.itemFeatureDim;
      entries.push(['item_feature_kernel', init('item_feature_kernel', [f, d], normal([f, d], 0.02, 8))]);
      const features = tf.tensor2d(shape.itemFeatures, [shape.numItems, f]);
      itemFeatures = withPaddingRow(features);
      features.dispose();
    }
    if (shape.userFeatures && userFeatureDim > 0) {
      userFeatures = tf.tensor2d(shape.userFeatures, [shape.numUsers + 1, userFeatureDim]);
    }
    this.weights = new Map(entries);
    this.constants = [itemCategories, itemFeatures, userFeatures].filter(
      (tensor): tensor is tf.Tensor1D | tf.Tensor2D => tensor !== undefined,
    );
    this.tables = {
      itemEmbedding: this.weight('item_embedding') as tf.Tensor2D,
      itemBias: this.weight('item_bias') as tf.Tensor1D,
      userEmbedding: this.weight('user_embedding') as tf.Tensor2D,
      dense: this.weights,
      ...(itemCategories ? { itemCategories } : {}),
      ...(itemFeatures ? { itemFeatures } : {}),
      ...(userFeatures ? { userFeatures } : {}),
    };
  }

  private weight(name: WeightName): tf.Variable {
    const value = this.weights.get(name);
    if (!value) throw new Error(`two-tower weight ${name} is missing`);
    return value;
  }

  /** Item vectors for item indices (0-based), [count, d]; every item when omitted. */
  itemVectors(items?: tf.Tensor1D): tf.Tensor2D {
    return tf.tidy(() => towerItemVectors(this.tables, items?.add(tf.scalar(1, 'int32'))));
  }

  itemBiases(items?: tf.Tensor1D): tf.Tensor1D {
    return tf.tidy(() => towerItemBiases(this.tables, items?.add(tf.scalar(1, 'int32'))));
  }

  /**
   * User vectors from the last N interactions.
   * @param context [batch, N] item indices + 1, 0 = padding, most recent last
   * @param users [batch] user indices + 1, 0 = unknown user
   */
  userVectors(context: tf.Tensor2D, users: tf.Tensor1D): tf.Tensor2D {
    return towerUserVectors(this.tables, context, users);
  }

  /**
   * Every item's vector with its bias as a last column, row-major [numItems, d + 1]: what serving and evaluation
   * score against (a user vector with a trailing 1 gets the bias from the same dot product).
   */
  itemMatrix(): Float32Array {
    const matrix = tf.tidy(() => tf.concat([this.itemVectors(), this.itemBiases().expandDims(1)], 1));
    // A copy the caller owns (the cpu backend's dataSync hands out the tensor's own storage).
    const values = (matrix.dataSync() as Float32Array).slice();
    matrix.dispose();
    return values;
  }

  /** Scores of all items for a batch of users: [batch, numItems]. */
  scoreAll(context: tf.Tensor2D, users: tf.Tensor1D): tf.Tensor2D {
    return tf.tidy(() =>
      matMulAddBias(this.userVectors(context, users), this.itemVectors(), this.itemBiases(), true),
    );
  }

  trainableVariables(): tf.Variable[] {
    return [...this.weights.values()];
  }

  /** Weights as a TF.js weights manifest + binary (`model.json` references `weights.bin`). */
  async serialize(): Promise<{ specs: tf.io.WeightsManifestEntry[]; data: ArrayBuffer }> {
    const named = [...this.weights].map(([name, tensor]) => ({ name, tensor }));
    const { data, specs } = await tf.io.encodeWeights(named);
    return { specs, data: data as ArrayBuffer };
  }

  static deserialize(
    shape: TwoTowerShape,
    specs: tf.io.WeightsManifestEntry[],
    data: ArrayBuffer,
  ): TwoTowerModel {
    const tensors = tf.io.decodeWeights(data, specs);
    const initial = new Map(Object.entries(tensors));
    const model = new TwoTowerModel(shape, initial);
    tf.dispose(Object.values(tensors));
    return model;
  }

  dispose(): void {
    tf.dispose([...this.weights.values()]);
    tf.dispose(this.constants);
  }
}

/** Left-pads the last `length` items of a history (0-based indices) into `out` as indices + 1. */
export function fillContext(
  history: ArrayLike<number>,
  end: number,
  length: number,
  out: Int32Array,
  offset: number,
): void {
  const start = Math.max(0, end - length);
  const pad = length - (end - start);
  for (let position = 0; position < length; position++) {
    out[offset + position] = position < pad ? 0 : (history[start + position - pad] as number) + 1;
  }
}
