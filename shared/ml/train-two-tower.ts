import * as tf from '@tensorflow/tfjs';
import { SeededRandom } from '../data/random';
import { evaluateFullRanking, evaluationSample, type Scorer } from './evaluate';
import type { Split } from './interactions';
import type { RankingMetrics } from './metrics';
import { fillContext, matMulAddBias, TwoTowerModel, type TwoTowerShape } from './two-tower';

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
  sampledNegatives: 2_048,
  seed: 42,
};

/** Users whose validation ranking early stopping watches each epoch (a fixed seeded sample beyond this). */
export const VALIDATION_SAMPLE_USERS = 5_000;

export interface EpochStats {
  readonly epoch: number;
  readonly loss: number;
  readonly validation: RankingMetrics;
  readonly seconds: number;
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
  const exp = tf.exp(logits.sub(max));
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

/** A scorer over the model for evaluation (batched). */
export function twoTowerScorer(model: TwoTowerModel, name = 'model'): Scorer {
  const n = model.shape.sequenceLength;
  const scoreBatch = (users: Int32Array, histories: Int32Array[], out: Float32Array[]) => {
    const context = new Int32Array(users.length * n);
    histories.forEach((history, row) => fillContext(history, history.length, n, context, row * n));
    const scores = tf.tidy(() =>
      model.scoreAll(
        tf.tensor2d(context, [users.length, n], 'int32'),
        tf.tensor1d(
          users.map((user) => user + 1),
          'int32',
        ),
      ),
    );
    const values = scores.dataSync() as Float32Array;
    scores.dispose();
    const items = model.shape.numItems;
    out.forEach((target, row) => target.set(values.subarray(row * items, (row + 1) * items)));
  };
  return {
    name,
    scoreBatch,
    score: (user, history, out) => scoreBatch(Int32Array.of(user), [history], [out]),
  };
}

export async function trainTwoTower(
  split: Split,
  shape: Omit<TwoTowerShape, 'embeddingDim' | 'sequenceLength'>,
  config: TrainingConfig = DEFAULT_TRAINING_CONFIG,
  progress: TrainingProgress = {},
): Promise<TrainedTwoTower> {
  const n = config.sequenceLength;
  const model = new TwoTowerModel(
    { ...shape, embeddingDim: config.embeddingDim, sequenceLength: n },
    undefined,
    config.seed,
  );
  const optimizer = tf.train.adam(config.learningRate);
  const examples = buildExamples(split);
  const random = new SeededRandom(config.seed);
  const order = Int32Array.from({ length: examples.users.length }, (_, index) => index);
  const batches = Math.ceil(order.length / config.batchSize);
  const fullSoftmax = shape.numItems <= config.fullSoftmaxMaxItems;
  const popularity = new Float32Array(shape.numItems);
  for (const sequence of split.train)
    for (const item of sequence) popularity[item] = (popularity[item] as number) + 1;
  const logPopularity = tf.tensor1d(popularity.map((count) => Math.log(count + 1)));
  const negativeSampler = fullSoftmax ? undefined : new PopularitySampler(popularity, random);

  const history: EpochStats[] = [];
  const validationUsers = evaluationSample(split, VALIDATION_SAMPLE_USERS, config.seed);
  let best: { ndcg: number; epoch: number; weights: Map<string, tf.Tensor> } | undefined;
  let trainedExamples = 0;
  let trainingSeconds = 0;
  try {
    for (let epoch = 1; epoch <= config.epochs; epoch++) {
      random.shuffle(order);
      const started = performance.now();
      let lossSum = 0;
      for (let batch = 0; batch < batches; batch++) {
        const indices = order.subarray(
          batch * config.batchSize,
          Math.min(order.length, (batch + 1) * config.batchSize),
        );
        const size = indices.length;
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
          fillContext(sequence, position, n, context, row * n);
          users[row] = user + 1;
          targets[row] = negativeItem >= 0 ? negativeItem : (sequence[position] as number);
          weights[row] = examples.weights[example] as number;
          positive[row] = negativeItem >= 0 ? 0 : 1;
        }
        const negatives = negativeSampler?.sample(config.sampledNegatives);
        const loss = optimizer.minimize(
          () =>
            tf.tidy(() => {
              const userVectors = model.userVectors(
                tf.tensor2d(context, [size, n], 'int32'),
                tf.tensor1d(users, 'int32'),
                true,
                config.dropout,
              );
              const targetTensor = tf.tensor1d(targets, 'int32');
              // Cross-entropy as logsumexp(logits) - target logit: no one-hot matrix over the catalogue.
              let logits: tf.Tensor2D;
              // Without the accidental-hit mask: the average candidate a negative is compared with.
              let rawLogits: tf.Tensor2D | undefined;
              let targetLogits: tf.Tensor1D;
              let itemRows: tf.Tensor2D;
              if (fullSoftmax) {
                itemRows = model.itemVectors();
                const biases = model.itemBiases();
                logits = matMulAddBias(userVectors, itemRows, biases, true);
                targetLogits = userVectors
                  .mul(tf.gather(itemRows, targetTensor))
                  .sum(1)
                  .add(tf.gather(biases, targetTensor));
              } else {
                const candidates = tf.concat([targetTensor, tf.tensor1d(negatives as Int32Array, 'int32')]);
                itemRows = model.itemVectors(candidates);
                const adjusted = model.itemBiases(candidates).sub(tf.gather(logPopularity, candidates)); // log-q correction
                rawLogits = userVectors
                  .matMul(itemRows, false, true)
                  .add(adjusted.expandDims(0)) as tf.Tensor2D;
                logits = maskAccidentalHits(rawLogits, targetTensor, candidates);
                // Row i's positive is candidate i (its own target, placed first).
                targetLogits = userVectors
                  .mul(itemRows.slice([0, 0], [size, -1]))
                  .sum(1)
                  .add(adjusted.slice([0], [size]));
              }
              const crossEntropy = examples.weighted
                ? weightedFeedbackLoss(
                    logits,
                    rawLogits ?? logits,
                    targetLogits,
                    tf.tensor1d(weights),
                    tf.tensor1d(positive, 'bool'),
                  )
                : logSumExpRows(logits).sub(targetLogits).mean();
              const penalty = userVectors
                .square()
                .sum(1)
                .mean()
                .add(itemRows.square().sum(1).mean())
                .mul(config.l2);
              return crossEntropy.add(penalty) as tf.Scalar;
            }),
          true,
          model.trainableVariables(),
        );
        const value = (await (loss as tf.Scalar).data())[0] as number;
        loss?.dispose();
        lossSum += value * size;
        progress.onBatch?.(epoch, batch + 1, batches, value);
      }
      const seconds = (performance.now() - started) / 1000;
      trainedExamples += order.length;
      trainingSeconds += seconds;
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
        examplesPerSecond: order.length / seconds,
      };
      history.push(stats);
      progress.onEpoch?.(stats);
      if (!best || validation.ndcg10 > best.ndcg) {
        if (best) tf.dispose([...best.weights.values()]);
        best = {
          ndcg: validation.ndcg10,
          epoch,
          weights: new Map([...model.weights].map(([name, value]) => [name, value.clone()])),
        };
      } else if (epoch - best.epoch >= config.patience) {
        break;
      }
    }
    if (best) for (const [name, value] of best.weights) model.weights.get(name as never)?.assign(value);
    return {
      model,
      history,
      bestEpoch: best?.epoch ?? 0,
      examples: order.length,
      examplesPerSecond: trainedExamples / Math.max(trainingSeconds, 1e-9),
    };
  } finally {
    if (best) tf.dispose([...best.weights.values()]);
    logPopularity.dispose();
    optimizer.dispose();
  }
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
 * target is candidate i (targets come first); every other candidate equal to it gets a logit of −1e9.
 */
export function maskAccidentalHits(
  logits: tf.Tensor2D,
  targets: tf.Tensor1D,
  candidates: tf.Tensor1D,
): tf.Tensor2D {
  return tf.tidy(() => {
    const [rows, columns] = logits.shape;
    const same = tf.equal(targets.expandDims(1), candidates.expandDims(0));
    const own = tf.concat(
      [tf.eye(rows, rows, undefined, 'bool'), tf.zeros([rows, columns - rows], 'bool')],
      1,
    );
    const hits = same.logicalAnd(own.logicalNot());
    return logits.add(hits.cast('float32').mul(tf.scalar(-1e9))) as tf.Tensor2D;
  });
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
