import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../shared/ml/backend';
import { evaluateFullRanking, evaluationSample } from '../shared/ml/evaluate';
import { runExperiment } from '../shared/ml/experiment';
import { buildInteractionLog, leaveLastOut, type Split } from '../shared/ml/interactions';
import {
  DEFAULT_TRAINING_CONFIG,
  type TrainingConfig,
  trainTwoTower,
  twoTowerScorer,
} from '../shared/ml/train-two-tower';
import { fillContext, type TwoTowerModel } from '../shared/ml/two-tower';
import type { RankingMetrics } from '../shared/ml/metrics';
import { SYNTHETIC_PRESETS, type SyntheticConfig, SyntheticWorld } from '../shared/synthetic/generator';
import { ML_100K } from '../test/support/shared-data';
import { median, report, type Row } from './report';

/**
 * `npm run bench -- training` (wasm, this machine):
 * 1. MovieLens 100K end to end (read from ../shared/data, never copied): the default config, as `mappa evaluate`.
 * 2. Catalogue sweep: one epoch at a fixed 10^6 interactions with 10^4, 10^5 and 10^6 items — sampled softmax at
 *    every size (the default would use full softmax at 10^4), so the same step is compared.
 *    The 10^5-item epoch is run again on one thread (the step before data-parallel parts) and with the whole batch
 *    of 1,024 as in-batch negatives (the default before `npm run bench -- training-negatives` chose 512), side by side.
 * 3. Interactions sweep: 10^5 and 10^6 rows, 2·10^5 items, one epoch: training time should grow linearly with
 *    the rows. The `xlarge` preset (~10^7 rows) end to end is its own benchmark, `npm run bench -- training-xlarge`
 *    (~25 minutes here; see `runXlargeBenchmark`).
 * 4. The same model and step in PyTorch on CPU (bench/pytorch_two_tower.py, Debian's python3-torch) on the 10^5-item
 *    sweep's examples, 1 and 2 threads; skipped with a note when torch is not installed.
 * Epoch rows give training seconds (the step loop) and the per-epoch validation separately.
 */
const CATALOGUE_SWEEP_ITEMS = [10_000, 100_000, 1_000_000];
const SWEEP_INTERACTIONS = 1_000_000;
const INTERACTION_SWEEP = [100_000, 1_000_000];
const SWEEP_ITEMS = 200_000;
/** Validation users per epoch in the sweeps: at 10^6 items each one is a full ranking of the catalogue. */
const SWEEP_VALIDATION_USERS = 1_000;
/** Test users ranked against the whole catalogue at the end of the xlarge run (each a 2·10^5-item ranking). */
const XLARGE_TEST_USERS = 10_000;
const PYTORCH_STEPS = 300;
const PYTHON = '/usr/bin/python3';

interface SweepData {
  readonly split: Split;
  readonly numUsers: number;
  /** Rows of the model's item table: the whole catalogue. */
  readonly numItems: number;
  /** Items that occur in the interactions. */
  readonly itemsSeen: number;
  readonly rows: number;
}

export function syntheticSplit(config: SyntheticConfig): SweepData {
  const world = new SyntheticWorld(config);
  const rows: { user_id: string; item_id: string; timestamp: number }[] = [];
  for (const row of world.interactions())
    rows.push({ user_id: row.userId, item_id: row.itemId, timestamp: row.timestamp });
  const log = buildInteractionLog(rows);
  // The model's tables hold the whole catalogue: items nobody interacted with yet are rows too (the log numbers
  // the seen ones first; a power-law catalogue of 10^6 items shows ~2·10^5 of them in 10^6 rows).
  return {
    split: leaveLastOut(log),
    numUsers: log.userIds.length,
    numItems: Math.max(config.items, log.itemIds.length),
    itemsSeen: log.itemIds.length,
    rows: rows.length,
  };
}

export async function oneEpoch(data: SweepData, config: Partial<TrainingConfig> = {}): Promise<Row> {
  const trained = await trainTwoTower(
    data.split,
    { numUsers: data.numUsers, numItems: data.numItems },
    {
      ...DEFAULT_TRAINING_CONFIG,
      epochs: 1,
      fullSoftmaxMaxItems: 0,
      validationSampleUsers: SWEEP_VALIDATION_USERS,
      ...config,
    },
    {
      onBatch: (_epoch, batch, batches) => {
        if (batch % 200 === 0 || batch === batches) process.stderr.write(`  step ${batch}/${batches}\r`);
      },
    },
  );
  const epoch = trained.history[0];
  trained.model.dispose();
  if (!epoch) throw new Error('training ran no epoch');
  return {
    interactions: data.rows,
    items: data.numItems,
    items_seen: data.itemsSeen,
    users: data.numUsers,
    examples: trained.examples,
    epoch_seconds: Number(epoch.seconds.toFixed(1)),
    examples_per_s: Math.round(epoch.examplesPerSecond),
    validation_seconds: Number(epoch.validationSeconds.toFixed(1)),
    validation_ndcg10: Number(epoch.validation.ndcg10.toFixed(4)),
  };
}

/** The sweep's examples as flat binaries for the PyTorch peer (positives only: synthetic views have no negatives). */
function writeExamples(data: SweepData, directory: string): void {
  const n = DEFAULT_TRAINING_CONFIG.sequenceLength;
  let count = 0;
  for (const sequence of data.split.train) count += sequence.length;
  const users = new Int32Array(count);
  const targets = new Int32Array(count);
  const context = new Int32Array(count * n);
  const popularity = new Float32Array(data.numItems);
  let index = 0;
  data.split.train.forEach((sequence, user) => {
    for (let position = 0; position < sequence.length; position++) {
      users[index] = user;
      targets[index] = sequence[position] as number;
      popularity[sequence[position] as number] = (popularity[sequence[position] as number] as number) + 1;
      fillContext(sequence, position, n, context, index * n);
      index++;
    }
  });
  const bytes = (array: Int32Array | Float32Array) => new Uint8Array(array.buffer);
  writeFileSync(join(directory, 'users'), bytes(users));
  writeFileSync(join(directory, 'targets'), bytes(targets));
  writeFileSync(join(directory, 'context'), bytes(context));
  writeFileSync(join(directory, 'log_q'), bytes(popularity.map((value) => Math.log(value + 1))));
  writeFileSync(
    join(directory, 'meta.json'),
    JSON.stringify({
      numItems: data.numItems,
      numUsers: data.numUsers,
      sequenceLength: n,
      embeddingDim: DEFAULT_TRAINING_CONFIG.embeddingDim,
      batchSize: DEFAULT_TRAINING_CONFIG.batchSize,
      sampledNegatives: DEFAULT_TRAINING_CONFIG.sampledNegatives,
      inBatchNegatives: DEFAULT_TRAINING_CONFIG.inBatchNegatives,
      learningRate: DEFAULT_TRAINING_CONFIG.learningRate,
      steps: PYTORCH_STEPS,
    }),
  );
}

function torchAvailable(): string | undefined {
  const probe = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  return probe.status === 0 ? probe.stdout.trim() : undefined;
}

export function pytorchPeer(data: SweepData, threads: number): Row {
  const directory = mkdtempSync(join(tmpdir(), 'mappa-torch-'));
  try {
    writeExamples(data, directory);
    const output = execFileSync(
      PYTHON,
      [join(__dirname, 'pytorch_two_tower.py'), directory, String(threads)],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    return JSON.parse(output.trim().split('\n').pop() ?? '{}') as Row;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

async function movieLensEndToEnd(): Promise<Row> {
  const rows = readFileSync(ML_100K, 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [user, item, , timestamp] = line.split('\t');
      return { user_id: String(user), item_id: String(item), timestamp: Number(timestamp) };
    });
  const started = performance.now();
  const result = await runExperiment(buildInteractionLog(rows), {
    progress: {
      onEpoch: (stats) =>
        process.stderr.write(
          `  ml-100k epoch ${stats.epoch}: validation NDCG@10 ${stats.validation.ndcg10.toFixed(4)}, ${Math.round(stats.examplesPerSecond)} examples/s\n`,
        ),
    },
  });
  const seconds = (performance.now() - started) / 1000;
  result.trained.model.dispose();
  return {
    workload: 'ml-100k end to end (default config, full softmax)',
    seconds: Number(seconds.toFixed(1)),
    epochs: result.trained.history.length,
    examples_per_s: Math.round(result.trained.examplesPerSecond),
    test_ndcg10: Number((result.metrics.model?.full.ndcg10 ?? 0).toFixed(4)),
    sampled_hr10: Number((result.metrics.model?.sampled100?.hr10 ?? 0).toFixed(4)),
  };
}

/**
 * `npm run bench -- training-xlarge` (wasm): the `xlarge` preset (~10^7 rows, 10^6 users, 2·10^5 items) end to end —
 * generate, build the log, train with early stopping (the default config), rank the catalogue for a seeded sample
 * of 10,000 test users — with peak RSS. ~25 minutes on this machine (34 before the in-place kernels), so only when named.
 */
export async function runXlargeBenchmark(): Promise<void> {
  await initBackend({ force: 'wasm' });
  report('training-xlarge', [fillColumns(await xlargeEndToEnd())], {
    backend: 'wasm',
    config: DEFAULT_TRAINING_CONFIG,
    targets: { xlarge: '<= 60 min end to end, peak RSS reported' },
    peak_rss_mib: peakRssMiB(),
  });
}

async function xlargeEndToEnd(): Promise<Row> {
  const config = SYNTHETIC_PRESETS.xlarge;
  const started = performance.now();
  process.stderr.write('training: xlarge end to end — generating and building the log\n');
  const data = syntheticSplit(config);
  const dataSeconds = (performance.now() - started) / 1000;
  process.stderr.write(
    `  data ready in ${dataSeconds.toFixed(0)} s: ${data.rows} rows, ${data.numUsers} users\n`,
  );
  const trained = await trainTwoTower(
    data.split,
    { numUsers: data.numUsers, numItems: data.numItems },
    DEFAULT_TRAINING_CONFIG,
    {
      onBatch: (epoch, batch, batches) => {
        if (batch % 500 === 0) {
          const elapsed = (performance.now() - started) / 1000;
          process.stderr.write(
            `  epoch ${epoch} step ${batch}/${batches}, ${Math.round(elapsed)} s in all\n`,
          );
        }
      },
      onEpoch: (stats) =>
        process.stderr.write(
          `  epoch ${stats.epoch}: ${stats.seconds.toFixed(0)} s, ${Math.round(stats.examplesPerSecond)} examples/s, validation NDCG@10 ${stats.validation.ndcg10.toFixed(4)} (${stats.validationSeconds.toFixed(0)} s)\n`,
        ),
    },
  );
  const testUsers = evaluationSample(data.split, XLARGE_TEST_USERS, 1);
  const test = testAndDispose(trained.model, data, testUsers);
  const seconds = (performance.now() - started) / 1000;
  const trainingSeconds = trained.history.reduce((sum, epoch) => sum + epoch.seconds, 0);
  return {
    workload: `xlarge end to end (data ${Math.round(dataSeconds)} s, early stopping; test on ${testUsers.length} users)`,
    interactions: data.rows,
    items: data.numItems,
    items_seen: data.itemsSeen,
    users: data.numUsers,
    examples: trained.examples,
    seconds: Number(seconds.toFixed(0)),
    epochs: trained.history.length,
    epoch_seconds: Number((trainingSeconds / trained.history.length).toFixed(0)),
    examples_per_s: Math.round(trained.examplesPerSecond),
    validation_seconds: Number(
      trained.history.reduce((sum, epoch) => sum + epoch.validationSeconds, 0).toFixed(0),
    ),
    validation_ndcg10: Number(
      Math.max(...trained.history.map((epoch) => epoch.validation.ndcg10)).toFixed(4),
    ),
    test_ndcg10: Number(test.ndcg10.toFixed(4)),
    peak_rss_mib: peakRssMiB(),
  };
}

export async function runTrainingBenchmark(): Promise<void> {
  if (!existsSync(ML_100K))
    throw new Error(`${ML_100K} not found: the benchmark reads MovieLens 100K from ../shared/data`);
  await initBackend({ force: 'wasm' });
  process.stderr.write('training: ml-100k end to end\n');
  const movieLens = await movieLensEndToEnd();

  const epochRows: Row[] = [];
  const baselineRows: Row[] = [];
  let peerData: SweepData | undefined;
  for (const items of CATALOGUE_SWEEP_ITEMS) {
    process.stderr.write(`training: catalogue sweep, ${items} items\n`);
    const data = syntheticSplit({ seed: 7, users: 100_000, items, interactions: SWEEP_INTERACTIONS });
    epochRows.push({ sweep: 'catalogue', ...(await oneEpoch(data)) });
    if (items === 100_000) {
      peerData = data;
      process.stderr.write('training: catalogue sweep, 100000 items, one thread\n');
      baselineRows.push({
        workload: 'one thread (no data-parallel parts), 10^5 items',
        ...(await oneEpoch(data, { threads: 1 })),
      });
      process.stderr.write(
        'training: catalogue sweep, 100000 items, the whole batch as in-batch negatives\n',
      );
      baselineRows.push({
        workload: 'previous default: 1,024 in-batch negatives (+ 256 sampled), 10^5 items',
        ...(await oneEpoch(data, { inBatchNegatives: 1_024 })),
      });
    }
  }
  const smallest = epochRows[0]?.epoch_seconds as number;
  for (const row of epochRows)
    row.vs_smallest_catalogue = Number(((row.epoch_seconds as number) / smallest).toFixed(2));

  const interactionRows: Row[] = [];
  for (const interactions of INTERACTION_SWEEP) {
    process.stderr.write(`training: interactions sweep, ${interactions} rows\n`);
    const data = syntheticSplit({ seed: 7, users: interactions / 10, items: SWEEP_ITEMS, interactions });
    interactionRows.push({ sweep: 'interactions', ...(await oneEpoch(data)), peak_rss_mib: peakRssMiB() });
  }

  const torch = torchAvailable();
  const peerRows: Row[] = [];
  const mappaAtPeer = epochRows.find((row) => row.items === peerData?.numItems);
  if (torch && peerData && mappaAtPeer) {
    for (const threads of [1, 2]) {
      process.stderr.write(`training: PyTorch ${torch} peer, ${threads} thread(s)\n`);
      const peer = pytorchPeer(peerData, threads);
      peerRows.push({
        workload: `PyTorch ${torch} CPU, ${threads} thread(s), ${peerData.numItems} items`,
        examples_per_s: peer.examples_per_s as number,
        mappa_examples_per_s: mappaAtPeer.examples_per_s as number,
        mappa_vs_pytorch: Number(
          ((mappaAtPeer.examples_per_s as number) / (peer.examples_per_s as number)).toFixed(2),
        ),
      });
    }
  }

  report(
    'training',
    [movieLens, ...epochRows, ...baselineRows, ...interactionRows, ...peerRows].map(fillColumns),
    {
      backend: 'wasm',
      config: {
        ...DEFAULT_TRAINING_CONFIG,
        sweeps: 'fullSoftmaxMaxItems 0, 1 epoch, validation on 1,000 users',
      },
      targets: {
        examples_per_s_at_1e5_items: '>= 30,000',
        epoch_seconds_1e6_vs_1e4_items: '<= 1.5x',
        ml_100k: '<= 60 s end to end, test NDCG@10 >= 0.117',
      },
      pytorch: torch ?? 'skipped: python3-torch is not installed (apt-get install python3-torch)',
      peak_rss_mib: peakRssMiB(),
    },
  );
}

/** The negatives trade-off's configurations: in-batch group rows + popularity-sampled negatives. */
const NEGATIVES_GRID: readonly { inBatchNegatives: number; sampledNegatives: number }[] = [
  { inBatchNegatives: 1_024, sampledNegatives: 256 },
  { inBatchNegatives: 512, sampledNegatives: 256 },
  { inBatchNegatives: 256, sampledNegatives: 256 },
  { inBatchNegatives: 512, sampledNegatives: 512 },
];
const NEGATIVES_EPOCHS = 4;
const NEGATIVES_TEST_USERS = 5_000;

/**
 * `npm run bench -- training-negatives` (wasm, ~8 min here): how many negatives a sampled-softmax row is scored
 * against, as quality against speed. The 10^5-item sweep catalogue (10^6 interactions) trained for up to four
 * epochs with early stopping on each configuration of `NEGATIVES_GRID`, then the test NDCG@10 of a seeded sample of
 * 5,000 users ranked against the whole catalogue, and the epochs' examples per second — all in one run, one
 * configuration after the other.
 */
export async function runNegativesBenchmark(): Promise<void> {
  await initBackend({ force: 'wasm' });
  const data = syntheticSplit({ seed: 7, users: 100_000, items: 100_000, interactions: SWEEP_INTERACTIONS });
  const testUsers = evaluationSample(data.split, NEGATIVES_TEST_USERS, 1);
  const rows: Row[] = [];
  for (const negatives of NEGATIVES_GRID) {
    const label = `${negatives.inBatchNegatives} in-batch + ${negatives.sampledNegatives} sampled`;
    process.stderr.write(`training-negatives: ${label}\n`);
    const trained = await trainTwoTower(
      data.split,
      { numUsers: data.numUsers, numItems: data.numItems },
      {
        ...DEFAULT_TRAINING_CONFIG,
        ...negatives,
        epochs: NEGATIVES_EPOCHS,
        fullSoftmaxMaxItems: 0,
        validationSampleUsers: SWEEP_VALIDATION_USERS,
      },
      {
        onBatch: (epoch, batch, batches) => {
          if (batch % 200 === 0 || batch === batches)
            process.stderr.write(`  epoch ${epoch} step ${batch}/${batches}\r`);
        },
        onEpoch: (stats) =>
          process.stderr.write(
            `  epoch ${stats.epoch}: ${Math.round(stats.examplesPerSecond)} examples/s, validation NDCG@10 ${stats.validation.ndcg10.toFixed(4)}\n`,
          ),
      },
    );
    const test = testAndDispose(trained.model, data, testUsers);
    rows.push({
      negatives: label,
      columns: negatives.inBatchNegatives + negatives.sampledNegatives,
      epochs: trained.history.length,
      examples_per_s: Math.round(median(trained.history.map((epoch) => epoch.examplesPerSecond))),
      validation_ndcg10: Number(
        Math.max(...trained.history.map((epoch) => epoch.validation.ndcg10)).toFixed(4),
      ),
      test_ndcg10: Number(test.ndcg10.toFixed(4)),
      test_hr10: Number(test.hr10.toFixed(4)),
    });
  }
  report('training-negatives', rows, {
    backend: 'wasm',
    data: `synthetic seed 7: ${data.rows} interactions, ${data.numItems} items (${data.itemsSeen} seen), ${data.numUsers} users`,
    config: { ...DEFAULT_TRAINING_CONFIG, epochs: NEGATIVES_EPOCHS, fullSoftmaxMaxItems: 0 },
    test_users: testUsers.length,
    examples_per_s: 'median over the epochs',
  });
}

/** A trained model's test metrics: `users` ranked against the whole catalogue; the model is disposed after. */
function testAndDispose(model: TwoTowerModel, data: SweepData, users: readonly number[]): RankingMetrics {
  const test = evaluateFullRanking(twoTowerScorer(model), data.split, data.numItems, 'test', 10, users);
  model.dispose();
  return test;
}

function peakRssMiB(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/** One column set for the table (rows of different kinds leave each other's columns empty). */
const COLUMNS = [
  'workload',
  'sweep',
  'interactions',
  'items',
  'items_seen',
  'users',
  'examples',
  'seconds',
  'epochs',
  'epoch_seconds',
  'vs_smallest_catalogue',
  'examples_per_s',
  'validation_seconds',
  'validation_ndcg10',
  'test_ndcg10',
  'sampled_hr10',
  'peak_rss_mib',
  'mappa_examples_per_s',
  'mappa_vs_pytorch',
];

function fillColumns(row: Row): Row {
  return Object.fromEntries(COLUMNS.map((column) => [column, row[column] ?? null]));
}
