import * as tf from '@tensorflow/tfjs';
import { SeededRandom } from '../data/random';
import type { BackendName } from './backend';
import { evaluateFullRanking, evaluationSample, type Scorer } from './evaluate';
import { defaultTrainingThreads, GradientWorkers, sharedCopy } from './gradient-workers';
import type { Split } from './interactions';
import type { RankingMetrics } from './metrics';
import { ScoringKernel } from './kernels/scoring-kernel';
import { ADAM_DEFAULTS, type AdamSettings, LazyAdamTable } from './lazy-adam';
import { BatchAssembler, type BatchPart, buildExamples, type PartGradients } from './batch-parts';
import {
  type MergePlan,
  MergePlanner,
  type RowSparseTables,
  rowShare,
  type GradientSlot,
  GradientSlots,
  updateRowShare,
} from './merged-update';
import {
  denseWeightNames,
  type LossSettings,
  partGradients,
  type StepShape,
  type WeightArrays,
} from './training-step';
import { fillContext, ROW_SPARSE_WEIGHTS, TwoTowerModel, type TwoTowerShape } from './two-tower';

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
   * The last epoch's share in the averaged weights that are validated and exported (EpochAverage); 1 = the
   * last epoch's weights alone.
   */
  readonly epochAverageShare: number;
  /**
   * Catalogues up to this size train with the exact softmax over all items;
   * larger ones with sampled softmax (in-batch + popularity-sampled negatives,
   * log-q corrected), which keeps a step's cost independent of catalogue size.
   */
  readonly fullSoftmaxMaxItems: number;
  readonly sampledNegatives: number;
  /**
   * Sampled softmax: a batch is cut into groups of this many rows, whose targets are each other's in-batch
   * negatives (with the sampled ones, shared by the batch). A row's softmax runs over its group's targets and the
   * sampled items, so its cost grows with this, not with the batch. The default, 512 (+ 256 sampled), was chosen by
   * `npm run bench -- training-negatives`: the same test NDCG@10 as the whole batch of 1,024 at ~1.2x the speed.
   */
  readonly inBatchNegatives: number;
  /** Users whose validation ranking early stopping watches each epoch (a fixed seeded sample beyond this). */
  readonly validationSampleUsers: number;
  /**
   * Parts each step's batch is cut into and computed in parallel (gradient workers); 0 = one per core on wasm
   * and cpu, 1 on native TensorFlow (its kernels use every core already).
   */
  readonly threads: number;
  readonly seed: number;
}

export const DEFAULT_TRAINING_CONFIG: TrainingConfig = {
  embeddingDim: 64,
  sequenceLength: 20,
  batchSize: 1024,
  epochs: 12,
  learningRate: 0.008,
  dropout: 0.3,
  l2: 1e-5,
  patience: 2,
  epochAverageShare: 0.5,
  fullSoftmaxMaxItems: 20_000,
  sampledNegatives: 256,
  inBatchNegatives: 512,
  validationSampleUsers: 5_000,
  threads: 0,
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
 * ~100 small kernels for them cost ~3 ms. With gradient workers the values live in shared memory.
 */
type WeightTables = Map<string, LazyAdamTable>;

function weightTablesOf(model: TwoTowerModel, shared: boolean): WeightTables {
  return new Map(
    [...model.weights].map(([name, variable]) => {
      const data = variable.dataSync() as Float32Array;
      const values = shared ? sharedCopy(data) : data.slice();
      // Row-sparse tables are row-major with one row per item or user; a dense weight is one row. Gradient
      // workers update rows of the row-sparse ones too: their moments are shared with the values.
      const rowSparse = (ROW_SPARSE_WEIGHTS as readonly string[]).includes(name);
      const width = rowSparse
        ? variable.shape.slice(1).reduce((product, size) => product * size, 1)
        : values.length;
      return [name, new LazyAdamTable(values, width, shared && rowSparse ? 'shared' : 'own')];
    }),
  );
}

/** Writes weight values into the model's variables (for evaluation, snapshots and export). */
function syncModel(model: TwoTowerModel, values: ReadonlyMap<string, Float32Array>): void {
  for (const [name, variable] of model.weights) {
    const value = values.get(name) as Float32Array;
    tf.tidy(() => variable.assign(tf.tensor(value, variable.shape)));
  }
}

/**
 * The average of the epochs' weights the model is evaluated and exported with: after each epoch,
 * average ← average + share · (weights − average), so the last epoch counts `share`, the one before
 * share · (1 − share), and so on (stochastic weight averaging over epoch ends, Izmailov et al. 2018, with
 * exponential weights so one copy of the tables suffices). On ml-100k an epoch's weights moved test NDCG@10
 * between 0.111 and 0.121 from one epoch to the next; the average of the last few sat at 0.120–0.122.
 */
class EpochAverage {
  readonly values = new Map<string, Float32Array>();

  constructor(private readonly share: number) {}

  add(weights: WeightTables): void {
    for (const [name, table] of weights) {
      const average = this.values.get(name);
      if (!average || this.share >= 1) {
        this.values.set(name, table.values.slice());
        continue;
      }
      const current = table.values;
      const share = this.share;
      for (let at = 0; at < average.length; at++)
        average[at] = (average[at] as number) + share * ((current[at] as number) - (average[at] as number));
    }
  }
}

/**
 * Trains the two-tower model. Each step works on the batch's local tables — the item, item-bias and user rows
 * its histories, targets and sampled negatives touch, copied out of row-sparse tables — takes the gradient of
 * the loss with respect to those rows and the dense weights, and applies lazy Adam to the rows and Adam to the
 * dense weights. A step's cost depends on the batch, not on the catalogue (with full softmax, on the catalogue
 * only through its logits, which is what full softmax is). With `threads` > 1 the batch is cut into that many
 * parts, computed in parallel by gradient workers and summed (`gradient-workers.ts`).
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
  const threads = Math.max(1, config.threads > 0 ? config.threads : defaultTrainingThreads(tf.getBackend()));
  const weights = weightTablesOf(model, threads > 1);
  const table = (name: string) => weights.get(name) as LazyAdamTable;
  const weightArrays: WeightArrays = new Map(
    [...model.weights].map(([name, variable]) => [
      name,
      { values: table(name).values, shape: variable.shape },
    ]),
  );
  const denseNames = denseWeightNames(weightArrays);
  const examples = buildExamples(split);
  const random = new SeededRandom(config.seed);
  const order = Int32Array.from({ length: examples.users.length }, (_, index) => index);
  const batches = Math.ceil(order.length / config.batchSize);
  const fullSoftmax = shape.numItems <= config.fullSoftmaxMaxItems;
  const popularity = new Float32Array(shape.numItems);
  for (const sequence of split.train)
    for (const item of sequence) popularity[item] = (popularity[item] as number) + 1;
  const negativeSampler = fullSoftmax ? undefined : new PopularitySampler(popularity, random);
  const assembler = new BatchAssembler(split, examples, shape, n, fullSoftmax);
  const stepShape: StepShape = { ...shape, embeddingDim: d };
  const lossSettings: LossSettings = {
    fullSoftmax,
    logPopularity: popularity.map((count) => Math.log(count + 1)),
    weighted: examples.weighted,
    dropout: config.dropout,
    l2: config.l2,
  };
  // Part k's dropout masks come from seed + 1 + k: a run is reproducible from its seed and thread count.
  const dropoutRandom = new SeededRandom(config.seed + 1);
  const workers =
    threads > 1
      ? await GradientWorkers.start(
          threads - 1,
          tf.getBackend() as BackendName,
          stepShape,
          weightArrays,
          lossSettings,
          Array.from({ length: threads - 1 }, (_, index) => config.seed + 2 + index),
          {
            moments: new Map(ROW_SPARSE_WEIGHTS.map((name) => [name, table(name).moments])),
            adam,
          },
        )
      : undefined;
  const rowSparse: RowSparseTables = {
    itemEmbedding: table('item_embedding'),
    itemBias: table('item_bias'),
    userEmbedding: table('user_embedding'),
  };
  const planner = new MergePlanner(shape.numItems + 1, shape.numUsers + 1);
  const slots = new GradientSlots(
    d,
    denseNames.map((name) => table(name).values.length),
    workers !== undefined,
  );
  const denseSums = denseNames.map((name) => new Float32Array(table(name).values.length));

  const history: EpochStats[] = [];
  const validationUsers = evaluationSample(split, config.validationSampleUsers, config.seed);
  let best: { ndcg: number; epoch: number; values: Map<string, Float32Array> } | undefined;
  const average = new EpochAverage(config.epochAverageShare);
  let trainedExamples = 0;
  let trainingSeconds = 0;
  let step = 0;
  try {
    for (let epoch = 1; epoch <= config.epochs; epoch++) {
      random.shuffle(order);
      const started = performance.now();
      let lossSum = 0;
      const batchOf = (batch: number) =>
        order.subarray(batch * config.batchSize, Math.min(order.length, (batch + 1) * config.batchSize));
      // A batch's parts and merge plan; the next one's is made while this thread waits for the workers' parts.
      const assemble = (batch: number): { parts: BatchPart[]; plan: MergePlan } => {
        const parts = assembler.assemble(
          batchOf(batch),
          negativeSampler?.sample(config.sampledNegatives),
          threads,
          config.inBatchNegatives,
        );
        return { parts, plan: planner.plan(parts) };
      };
      let next = assemble(0);
      for (let batch = 0; batch < batches; batch++) {
        const { parts, plan } = next;
        step++;
        // Part i goes to thread i mod threads (thread 0 is this one): the workers' parts go out first, one at a
        // time per worker, and this thread computes its own meanwhile. Every part's gradient lands in shared
        // memory when there are workers (they read all of them for their share of the update).
        const partSlots = parts.map((part, index) => slots.slot(index, part));
        const queues = new Map<number, Promise<unknown>>();
        const pending = parts.flatMap((part, index) => {
          const thread = index % threads;
          if (thread === 0) return [];
          const send = () =>
            (workers as GradientWorkers).gradients(thread - 1, part, partSlots[index] as GradientSlot);
          // A worker's first part is posted now (a .then would wait for this thread's own part to finish).
          const previous = queues.get(thread);
          const gradients = previous ? previous.then(send) : send();
          queues.set(
            thread,
            gradients.catch(() => undefined),
          );
          return [gradients.then((result) => ({ index, gradients: result }))];
        });
        const gradients: PartGradients[] = [];
        try {
          for (let index = 0; index < parts.length; index += threads) {
            gradients[index] = partGradients(
              weightArrays,
              stepShape,
              parts[index] as BatchPart,
              lossSettings,
              dropoutRandom,
              partSlots[index],
            );
          }
          if (batch + 1 < batches) next = assemble(batch + 1);
          for (const { index, gradients: theirs } of await Promise.all(pending)) gradients[index] = theirs;
        } catch (error) {
          // The workers' answers are awaited (and their failures observed) before the error goes up.
          await Promise.allSettled(pending);
          throw error;
        }
        // Each thread updates its share of the touched rows; this one also the dense weights.
        const share = (thread: number) => ({
          item: rowShare(plan.itemRows.length, thread, threads),
          user: rowShare(plan.userRows.length, thread, threads),
        });
        const updates = Array.from({ length: threads - 1 }, (_, worker) =>
          (workers as GradientWorkers).update(worker, {
            step,
            plan,
            slots: partSlots,
            share: share(worker + 1),
          }),
        );
        let loss = 0;
        try {
          updateRowShare(rowSparse, plan, gradients, share(0), step, adam);
          denseNames.forEach((name, weight) => {
            const sum = denseSums[weight] as Float32Array;
            sum.fill(0);
            for (const part of gradients) {
              const gradient = part.dense[weight] as Float32Array;
              for (let at = 0; at < sum.length; at++)
                sum[at] = (sum[at] as number) + (gradient[at] as number);
            }
            table(name).update(DENSE_ROW, sum, step, adam);
          });
          for (const part of gradients) loss += part.loss;
        } finally {
          await Promise.all(updates);
        }
        lossSum += loss * batchOf(batch).length;
        progress.onBatch?.(epoch, batch + 1, batches, loss);
      }
      const seconds = (performance.now() - started) / 1000;
      trainedExamples += order.length;
      trainingSeconds += seconds;
      average.add(weights);
      syncModel(model, average.values);
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
          values: new Map([...average.values].map(([name, values]) => [name, values.slice()])),
        };
      } else if (epoch - best.epoch >= config.patience) {
        break;
      }
    }
  } finally {
    await workers?.close();
  }
  if (best) syncModel(model, best.values);
  return {
    model,
    history,
    bestEpoch: best?.epoch ?? 0,
    examples: order.length,
    examplesPerSecond: trainedExamples / Math.max(trainingSeconds, 1e-9),
  };
}

/** The one row of a dense weight's table. */
const DENSE_ROW = Int32Array.of(0);

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
