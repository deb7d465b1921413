import * as tf from '@tensorflow/tfjs';
import { SeededRandom } from '../data/random';
import { evaluateFullRanking, evaluationSample, type Scorer } from './evaluate';
import type { Split } from './interactions';
import type { RankingMetrics } from './metrics';
import { ScoringKernel } from './kernels/scoring-kernel';
import { ADAM_DEFAULTS, type AdamSettings, gatherRowsOf, LazyAdamTable, RowSlots } from './lazy-adam';
import {
  fillContext,
  matMulAddBias,
  ROW_SPARSE_WEIGHTS,
  towerItemBiases,
  towerItemVectors,
  type TowerTables,
  towerUserVectors,
  TwoTowerModel,
  type TwoTowerShape,
} from './two-tower';

/**
 * Hyper-parameters of the two-tower model, in one typed config with defaults
 * chosen on ml-100k with the validation split (never the test split).
 */
export interface TrainingConfig {
  /** Width of the shared embedding space. */
  readonly embeddingDim: number;
  /** Recent interactions the user tower reads. */
  readonly sequenceLength: number;
  readonly batchSize: number;
  /** Upper bound; early stopping usually ends sooner. */
  readonly epochs: number;
  readonly learningRate: number;
  readonly dropout: number;
  /** L2 penalty on the user vectors and the item rows of each batch. */
  readonly l2: number;
  /** Epochs without a better validation NDCG@10 before stopping. */
  readonly patience: number;
  /**
   * Catalogues up to this size train with the exact softmax over all items;
   * larger ones with sampled softmax (in-batch + popularity-sampled negatives,
   * log-q corrected), which keeps a step's cost independent of catalogue size.
   */
  readonly fullSoftmaxMaxItems: number;
  readonly sampledNegatives: number;
  /** Users whose validation ranking early stopping watches each epoch (a fixed seeded sample beyond this). */
  readonly validationSampleUsers: number;
  readonly seed: number;
}

export const DEFAULT_TRAINING_CONFIG: TrainingConfig = {
  embeddingDim: 64,
  sequenceLength: 20,
  batchSize: 512,
  epochs: 12,
  learningRate: 0.005,
  dropout: 0.3,
  l2: 1e-5,
  patience: 3,
  fullSoftmaxMaxItems: 20_000,
  sampledNegatives: 256,
  validationSampleUsers: 5_000,
  seed: 42,
};

export interface EpochStats {
  readonly epoch: number;
  readonly loss: number;
  readonly validation: RankingMetrics;
  /** Training time of the epoch (the validation after it not included). */
  readonly seconds: number;
  readonly validationSeconds: number;
  readonly examplesPerSecond: number;
}

export interface TrainingProgress {
  onBatch?(epoch: number, batch: number, batches: number, loss: number): void;
  onEpoch?(stats: EpochStats): void;
}

export interface TrainedTwoTower {
  readonly model: TwoTowerModel;
  readonly history: EpochStats[];
  readonly bestEpoch: number;
  readonly examples: number;
  readonly examplesPerSecond: number;
}

/**
 * Training examples: every training position of a positive (the history before it as context), and every
 * negative pair (the positives before it as context) — with the event policy's loss weights.
 */
interface Examples {
  readonly users: Int32Array;
  /** How much of the user's training sequence is context. */
  readonly positions: Int32Array;
  /** Target item of a negative example; -1 for a positive (its target is the sequence's item at `position`). */
  readonly negativeItems: Int32Array;
  readonly weights: Float32Array;
  /** Whether any example has a weight other than 1 or is negative (else the plain mean cross-entropy). */
  readonly weighted: boolean;
}

function buildExamples(split: Split): Examples {
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
 * A scorer over the model for evaluation: the item matrix (vectors with the bias as a last column) computed
 * once and loaded into the WebAssembly scoring kernel serving uses; user vectors in batches through TF.js.
 */
export function twoTowerScorer(model: TwoTowerModel, name = 'model'): Scorer {
  const n = model.shape.sequenceLength;
  const d = model.shape.embeddingDim;
  const kernel = new ScoringKernel(model.shape.numItems, d + 1).load(model.itemMatrix());
  const query = new Float32Array(d + 1);
  const scoreBatch = (users: Int32Array, histories: Int32Array[], out: Float32Array[]) => {
    const context = new Int32Array(users.length * n);
    histories.forEach((history, row) => fillContext(history, history.length, n, context, row * n));
    const vectors = tf.tidy(() =>
      model.userVectors(
        tf.tensor2d(context, [users.length, n], 'int32'),
        tf.tensor1d(
          users.map((user) => user + 1),
          'int32',
        ),
      ),
    );
    const values = vectors.dataSync() as Float32Array;
    vectors.dispose();
    out.forEach((target, row) => {
      query.set(values.subarray(row * d, (row + 1) * d));
      query[d] = 1;
      target.set(kernel.scores(query));
    });
  };
  return {
    name,
    scoreBatch,
    score: (user, history, out) => scoreBatch(Int32Array.of(user), [history], [out]),
  };
}

/**
 * Every weight during training as a JS table with its Adam state: the row-sparse ones (item and user rows) are
 * updated by rows, the dense ones whole. Adam on the dense weights in JS costs ~0.1 ms a step; tf.train.adam's
 * ~100 small kernels for them cost ~3 ms.
 */
type WeightTables = Map<string, LazyAdamTable>;

function weightTablesOf(model: TwoTowerModel): WeightTables {
  return new Map(
    [...model.weights].map(([name, variable]) => {
      const values = variable.dataSync().slice() as Float32Array;
      // Row-sparse tables are row-major with one row per item or user; a dense weight is one row.
      const width = (ROW_SPARSE_WEIGHTS as readonly string[]).includes(name)
        ? variable.shape.slice(1).reduce((product, size) => product * size, 1)
        : values.length;
      return [name, new LazyAdamTable(values, width)];
    }),
  );
}

/** Writes the training tables into the model's variables (for evaluation, snapshots and export). */
function syncModel(model: TwoTowerModel, tables: WeightTables): void {
  for (const [name, variable] of model.weights) {
    const table = tables.get(name) as LazyAdamTable;
    tf.tidy(() => variable.assign(tf.tensor(table.values, variable.shape)));
  }
}

/**
 * Trains the two-tower model. Each step works on the batch's local tables — the item, item-bias and user rows
 * its histories, targets and sampled negatives touch, copied out of row-sparse tables — takes the gradient of
 * the loss with respect to those rows and the dense weights, and applies lazy Adam to the rows and Adam to the
 * dense weights. A step's cost depends on the batch, not on the catalogue (with full softmax, on the catalogue
 * only through its logits, which is what full softmax is).
 */
export async function trainTwoTower(
  split: Split,
  shape: Omit<TwoTowerShape, 'embeddingDim' | 'sequenceLength'>,
  config: TrainingConfig = DEFAULT_TRAINING_CONFIG,
  progress: TrainingProgress = {},
): Promise<TrainedTwoTower> {
  const n = config.sequenceLength;
  const d = config.embeddingDim;
  const model = new TwoTowerModel({ ...shape, embeddingDim: d, sequenceLength: n }, undefined, config.seed);
  const adam: AdamSettings = { ...ADAM_DEFAULTS, learningRate: config.learningRate };
  const weights = weightTablesOf(model);
  const table = (name: string) => weights.get(name) as LazyAdamTable;
  const itemTable = table('item_embedding');
  const itemBiasTable = table('item_bias');
  const userTable = table('user_embedding');
  const denseRow = Int32Array.of(0);
  const denseNames = [...model.weights.keys()].filter(
    (name) => !(ROW_SPARSE_WEIGHTS as readonly string[]).includes(name),
  );
  const examples = buildExamples(split);
  const random = new SeededRandom(config.seed);
  const order = Int32Array.from({ length: examples.users.length }, (_, index) => index);
  const batches = Math.ceil(order.length / config.batchSize);
  const fullSoftmax = shape.numItems <= config.fullSoftmaxMaxItems;
  const popularity = new Float32Array(shape.numItems);
  for (const sequence of split.train)
    for (const item of sequence) popularity[item] = (popularity[item] as number) + 1;
  const logPopularity = popularity.map((count) => Math.log(count + 1));
  const negativeSampler = fullSoftmax ? undefined : new PopularitySampler(popularity, random);
  const assembler = new BatchAssembler(split, examples, shape, n, fullSoftmax);
  const lossSettings: LossSettings = {
    fullSoftmax,
    logPopularity,
    weighted: examples.weighted,
    dropout: config.dropout,
    random: new SeededRandom(config.seed + 1),
    l2: config.l2,
  };

  const history: EpochStats[] = [];
  const validationUsers = evaluationSample(split, config.validationSampleUsers, config.seed);
  let best: { ndcg: number; epoch: number; values: Map<string, Float32Array> } | undefined;
  let trainedExamples = 0;
  let trainingSeconds = 0;
  let step = 0;
  for (let epoch = 1; epoch <= config.epochs; epoch++) {
    random.shuffle(order);
    const started = performance.now();
    let lossSum = 0;
    for (let batch = 0; batch < batches; batch++) {
      const indices = order.subarray(
        batch * config.batchSize,
        Math.min(order.length, (batch + 1) * config.batchSize),
      );
      const assembled = assembler.assemble(indices, negativeSampler?.sample(config.sampledNegatives));
      const { itemRows, userRows } = assembled;
      step++;
      const { value, grads } = tf.tidy(() => {
        const local = localAttributes(shape, itemRows, userRows);
        const dense = denseNames.map((name) =>
          tf.tensor(table(name).values, (model.weights.get(name) as tf.Variable).shape),
        );
        const lossOf = (...args: tf.Tensor[]): tf.Scalar => {
          const [itemEmbedding, itemBias, userEmbedding, ...denseValues] = args;
          return batchLoss(
            {
              ...local,
              itemEmbedding: itemEmbedding as tf.Tensor2D,
              itemBias: itemBias as tf.Tensor1D,
              userEmbedding: userEmbedding as tf.Tensor2D,
              dense: new Map(denseNames.map((name, index) => [name, denseValues[index] as tf.Tensor])),
            },
            assembled,
            lossSettings,
          );
        };
        return tf.valueAndGrads(lossOf)([
          tf.tensor2d(itemTable.gather(itemRows), [itemRows.length, d]),
          tf.tensor1d(itemBiasTable.gather(itemRows)),
          tf.tensor2d(userTable.gather(userRows), [userRows.length, d]),
          ...dense,
        ]);
      });
      const gradientOf = (index: number) => (grads[index] as tf.Tensor).dataSync() as Float32Array;
      itemTable.update(itemRows, gradientOf(0), step, adam);
      itemBiasTable.update(itemRows, gradientOf(1), step, adam);
      userTable.update(userRows, gradientOf(2), step, adam);
      denseNames.forEach((name, index) => table(name).update(denseRow, gradientOf(3 + index), step, adam));
      const loss = (await value.data())[0] as number;
      tf.dispose([value, ...grads]);
      lossSum += loss * assembled.size;
      progress.onBatch?.(epoch, batch + 1, batches, loss);
    }
    const seconds = (performance.now() - started) / 1000;
    trainedExamples += order.length;
    trainingSeconds += seconds;
    syncModel(model, weights);
    const validationStarted = performance.now();
    const validation = evaluateFullRanking(
      twoTowerScorer(model),
      split,
      shape.numItems,
      'validation',
      10,
      validationUsers,
    );
    const stats: EpochStats = {
      epoch,
      loss: lossSum / order.length,
      validation,
      seconds,
      validationSeconds: (performance.now() - validationStarted) / 1000,
      examplesPerSecond: order.length / seconds,
    };
    history.push(stats);
    progress.onEpoch?.(stats);
    if (!best || validation.ndcg10 > best.ndcg) {
      best = {
        ndcg: validation.ndcg10,
        epoch,
        values: new Map([...weights].map(([name, weight]) => [name, weight.values.slice()])),
      };
    } else if (epoch - best.epoch >= config.patience) {
      break;
    }
  }
  if (best) {
    for (const [name, values] of best.values) table(name).values.set(values);
    syncModel(model, weights);
  }
  return {
    model,
    history,
    bestEpoch: best?.epoch ?? 0,
    examples: order.length,
    examplesPerSecond: trainedExamples / Math.max(trainingSeconds, 1e-9),
  };
}

/** One step's examples, with every item and user index rewritten into the batch's local rows. */
interface Batch {
  readonly size: number;
  /** [size × N] local item rows of each example's history (0 = padding, when the batch has padding). */
  readonly context: Int32Array;
  readonly users: Int32Array;
  /** Local item row of each example's target; targets come first among the candidates. */
  readonly targets: Int32Array;
  /** Sampled softmax: the targets then the sampled negatives, as local item rows. */
  readonly candidates: Int32Array;
  readonly weights: Float32Array;
  /** 1 for a positive example, 0 for a negative one (the event policy's dislikes). */
  readonly positive: Uint8Array;
  /** The model's item rows (item index + 1; 0 = padding) by local row; with full softmax every row. */
  readonly itemRows: Int32Array;
  readonly userRows: Int32Array;
}

/** Builds each step's `Batch` from example indices (reusing its slot arrays across steps). */
class BatchAssembler {
  private readonly itemSlots?: RowSlots;
  private readonly allItemRows?: Int32Array;
  private readonly userSlots: RowSlots;

  constructor(
    private readonly split: Split,
    private readonly examples: Examples,
    shape: Pick<TwoTowerShape, 'numItems' | 'numUsers'>,
    private readonly sequenceLength: number,
    fullSoftmax: boolean,
  ) {
    // With full softmax every item row is in every step: the local rows are the model's rows.
    if (fullSoftmax) this.allItemRows = Int32Array.from({ length: shape.numItems + 1 }, (_, row) => row);
    else this.itemSlots = new RowSlots(shape.numItems + 1);
    this.userSlots = new RowSlots(shape.numUsers + 1);
  }

  assemble(indices: Int32Array, sampled: Int32Array | undefined): Batch {
    const { split, examples, itemSlots, userSlots } = this;
    const n = this.sequenceLength;
    const size = indices.length;
    const itemSlot = (row: number) => (itemSlots ? itemSlots.slot(row) : row);
    const context = new Int32Array(size * n);
    const users = new Int32Array(size);
    const targets = new Int32Array(size);
    const weights = new Float32Array(size);
    const positive = new Uint8Array(size);
    for (let row = 0; row < size; row++) {
      const example = indices[row] as number;
      const user = examples.users[example] as number;
      const position = examples.positions[example] as number;
      const sequence = split.train[user] as Int32Array;
      const negativeItem = examples.negativeItems[example] as number;
      const target = negativeItem >= 0 ? negativeItem : (sequence[position] as number);
      // Targets take the first slots, so a target's slot is its candidate column (see accidentalHitMask).
      targets[row] = itemSlot(target + 1);
      users[row] = userSlots.slot(user + 1);
      weights[row] = examples.weights[example] as number;
      positive[row] = negativeItem >= 0 ? 0 : 1;
      fillContext(sequence, position, n, context, row * n);
    }
    // The batch's targets (in-batch negatives), then the popularity-sampled items.
    const candidates = new Int32Array(size + (sampled?.length ?? 0));
    candidates.set(targets);
    sampled?.forEach((item, index) => (candidates[size + index] = itemSlot(item + 1)));
    for (let index = 0; index < context.length; index++) context[index] = itemSlot(context[index] as number);
    return {
      size,
      context,
      users,
      targets,
      candidates,
      weights,
      positive,
      itemRows: this.allItemRows ?? (itemSlots as RowSlots).take(),
      userRows: userSlots.take(),
    };
  }
}

/** The item and user attributes (categories, features) of a batch's local rows. */
function localAttributes(
  shape: Omit<TwoTowerShape, 'embeddingDim' | 'sequenceLength'>,
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

interface LossSettings {
  readonly fullSoftmax: boolean;
  /** log(count + 1) per item: the sampler's q, for the log-q correction. */
  readonly logPopularity: Float32Array;
  /** Whether any example has a weight other than 1 or is negative (else the plain mean cross-entropy). */
  readonly weighted: boolean;
  readonly dropout: number;
  /** Draws the dropout masks: a run is reproducible from its seed. */
  readonly random: SeededRandom;
  readonly l2: number;
}

/** A step's loss on its local tables: softmax cross-entropy (full or sampled) plus the L2 penalty. */
function batchLoss(tables: TowerTables, batch: Batch, settings: LossSettings): tf.Scalar {
  const { size, targets, candidates, itemRows } = batch;
  const n = batch.context.length / size;
  const userVectors = towerUserVectors(
    tables,
    tf.tensor2d(batch.context, [size, n], 'int32'),
    tf.tensor1d(batch.users, 'int32'),
    {
      training: true,
      dropout: settings.dropout,
      random: settings.random,
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
    logits = rawLogits.add(tf.tensor2d(accidentalHitMask(targets, candidates), [size, candidates.length]));
    // Row i's positive is candidate i (its own target, placed first).
    targetLogits = userVectors
      .mul(candidateVectors.slice([0, 0], [size, -1]))
      .sum(1)
      .add(adjusted.slice([0], [size]));
  }
  const crossEntropy = settings.weighted
    ? weightedFeedbackLoss(
        logits,
        rawLogits ?? logits,
        targetLogits,
        tf.tensor1d(batch.weights),
        tf.tensor1d(batch.positive, 'bool'),
      )
    : logSumExpRows(logits).sub(targetLogits).mean();
  const penalty = userVectors
    .square()
    .sum(1)
    .mean()
    .add(candidateVectors.square().sum(1).mean())
    .mul(settings.l2);
  return crossEntropy.add(penalty) as tf.Scalar;
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
 * The loss under an event policy, per row from its logits over the candidates and its target's logit:
 * positives the weighted softmax cross-entropy (−log p), negatives a pairwise BPR loss against the average
 * candidate, −log σ(mean − s): "the disliked item should score below a typical one". (Unlikelihood,
 * −log(1 − p), barely moves an item whose p is already ~1/n, so a dismissed item kept its rank.)
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
  return tf.where(positive, positiveLoss, negativeLoss).mul(weights).sum().div(weights.sum()) as tf.Scalar;
}

/**
 * Sampled softmax's accidental hits (TFRS's `remove_accidental_hits`): a sampled negative or another row's
 * in-batch item that is the row's own target would be pushed down as if it were a negative. Row i's own
 * target is candidate i (targets come first); every other candidate equal to it gets −1e9, added to the
 * logits. Built from the index arrays (a constant of the step): the broadcast `tf.equal` it replaces took
 * 87 ms of a 183 ms step on wasm.
 */
export function accidentalHitMask(targets: Int32Array, candidates: Int32Array): Float32Array {
  const columns = candidates.length;
  const mask = new Float32Array(targets.length * columns);
  const columnsOf = new Map<number, number[]>();
  candidates.forEach((candidate, column) => {
    const list = columnsOf.get(candidate);
    if (list) list.push(column);
    else columnsOf.set(candidate, [column]);
  });
  targets.forEach((target, row) => {
    for (const column of columnsOf.get(target) ?? []) if (column !== row) mask[row * columns + column] = -1e9;
  });
  return mask;
}

/** Samples item indices in proportion to popularity (the q of the log-q correction). */
class PopularitySampler {
  private readonly cumulative: Float64Array;

  constructor(
    popularity: Float32Array,
    private readonly random: SeededRandom,
  ) {
    this.cumulative = new Float64Array(popularity.length);
    let total = 0;
    popularity.forEach((count, index) => {
      total += count + 1;
      this.cumulative[index] = total;
    });
  }

  sample(count: number): Int32Array {
    const total = this.cumulative[this.cumulative.length - 1] as number;
    const out = new Int32Array(count);
    for (let draw = 0; draw < count; draw++) {
      const target = this.random.next() * total;
      let low = 0;
      let high = this.cumulative.length - 1;
      while (low < high) {
        const middle = (low + high) >> 1;
        if ((this.cumulative[middle] as number) < target) low = middle + 1;
        else high = middle;
      }
      out[draw] = low;
    }
    return out;
  }
}
