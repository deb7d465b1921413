import { PutObjectCommand } from '@aws-sdk/client-s3';
import { csvLine } from '../../data/formats';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { type LocalApi, startLocalApi } from '../../local/api-server';
import { localApiDeps } from '../../local/api-wiring';
import { ApiTour } from '../demo-showcase';
import { uploadFile } from '../../aws/upload';
import { formatIamUsage } from '../../local/iam/usage-report';
import { registerPreprocessHandler } from '../../local/preprocess-wiring';
import { initBackend } from '../../ml/backend';
import { createLogger } from '../../observability/logger';
import { runTraining } from '../../training/run-training';
import { terminalTrainingProgress } from '../metrics-table';
import type { EmbeddedStack } from '../../local/embedded-stack';
import type { Dataset } from '../../resources/definitions';
import { parseCsvTable } from '../../marketing/tabular';
import { evaluateUplift } from '../../marketing/uplift-eval';
import { evaluatePricing } from '../../marketing/pricing';
import { PRICING_REPORT_KEY, UPLIFT_REPORT_KEY } from '../../report/collect';
import { generatePriceHistory } from '../../synthetic/price-history';
import { generateCampaign } from '../../synthetic/campaign';
import { SYNTHETIC_PRESETS } from '../../synthetic/generator';
import { writeSyntheticDataset } from '../../synthetic/write-files';
import { CliError, parseIntegerOption, runAction } from '../errors';
import { syntheticConfigFrom } from './generate';
import { dropKeys, formatReport, readReport } from './ingest';
import { DEFAULT_REPORT_PATH, writeReport } from './report';
import { formatTrainingReport } from './train';
import { type StackFlags, startStackFromFlags, withStackFlags } from './local';

interface DemoFlags extends StackFlags {
  data?: string;
  preset: string;
  exit?: boolean;
  port: number;
  report: string;
}

/** A canonical file found for a dataset. */
interface DatasetFile {
  readonly dataset: Dataset;
  readonly path: string;
}

const DROP_ORDER: readonly Dataset[] = ['items', 'users', 'interactions'];
const FILE_PATTERN = /^(interactions|users|items)\.(csv|tsv|jsonl)(\.gz)?$/;

/** Finds canonical dataset files in a directory (or takes one file as interactions). */
export function findDatasetFiles(dataPath: string): DatasetFile[] {
  if (!existsSync(dataPath)) throw new CliError(`--data path '${dataPath}' does not exist`, 2);
  if (statSync(dataPath).isFile()) return [{ dataset: 'interactions', path: dataPath }];
  const files = readdirSync(dataPath)
    .map((name) => ({ name, match: FILE_PATTERN.exec(name) }))
    .flatMap(({ name, match }) =>
      match ? [{ dataset: match[1] as Dataset, path: join(dataPath, name) }] : [],
    );
  if (!files.some((file) => file.dataset === 'interactions')) {
    throw new CliError(
      `--data directory '${dataPath}' has no interactions file (expected interactions.csv, .tsv or .jsonl, optionally .gz)`,
      2,
    );
  }
  return files;
}

function step(number: number, title: string): void {
  process.stdout.write(`\n[${number}] ${title}\n`);
}

export function registerDemoCommand(program: Command): void {
  withStackFlags(
    program
      .command('demo')
      .description(
        'run the whole pipeline locally: embedded AWS stack, data, drop-folder ingestion, training and evaluation, the API',
      )
      .option('--data <dir-or-file>', 'canonical CSV files to use instead of generated synthetic data')
      .option('--preset <name>', `synthetic data size: ${Object.keys(SYNTHETIC_PRESETS).join(', ')}`, 'small')
      .option('--exit', 'exit when done instead of serving until Ctrl-C')
      .option('--report <file>', 'where to write the evaluation report', DEFAULT_REPORT_PATH)
      .option(
        '--port <port>',
        'port of the local API (0 = any free port)',
        parseIntegerOption('--port', 0, 65535),
        3000,
      ),
  ).action(
    runAction(async (flags: DemoFlags) => {
      const started = Date.now();
      if (flags.data) findDatasetFiles(flags.data); // fail on a bad path before starting anything
      step(1, 'Starting the embedded S3 and DynamoDB stack');
      const stack = await startStackFromFlags(flags);
      try {
        process.stdout.write(`    S3 ${stack.s3Endpoint}, DynamoDB ${stack.dynamoDbEndpoint}\n`);
        const files = await prepareData(flags);
        await dropFiles(stack, files);
        const userIds = await trainModel(stack);
        const api = await serveApi(stack, flags);
        try {
          step(5, `Serving the API on ${api.url} (x-api-key: ${api.apiKey}) and calling it`);
          await new ApiTour(api.url, api.apiKey).run(userIds, {
            listNewItems: (category, price) => listNewItems(stack, category, price),
            refresh: () => api.refreshModels(),
          });
          step(6, 'Campaign science: whom a randomized e-mail campaign moves (uplift), and at what price');
          await demoUplift(stack, dirname(flags.report));
          await demoPricing(stack, dirname(flags.report));
          step(7, 'Writing the evaluation report');
          const report = await writeReport(stack, flags.report);
          process.stdout.write(`    ${report}\n`);
          const usage = writeIamUsage(stack, join(dirname(flags.report), 'iam-usage.md'));
          if (usage)
            process.stdout.write(`    ${usage} (every AWS call each deployable made, by IAM grant)\n`);
          process.stdout.write(`\nDone in ${((Date.now() - started) / 1000).toFixed(1)} s.\n`);
          if (!flags.exit) {
            process.stdout.write(`The API keeps serving on ${api.url}; press Ctrl-C to stop.\n`);
            await new Promise<void>((resolve) => {
              process.once('SIGINT', () => resolve());
              process.once('SIGTERM', () => resolve());
            });
          }
        } finally {
          await api.close();
        }
      } finally {
        await stack.stop();
      }
    }),
  );
}

async function prepareData(flags: DemoFlags): Promise<DatasetFile[]> {
  if (flags.data) {
    step(2, `Using data from ${flags.data}`);
    return findDatasetFiles(flags.data);
  }
  const config = syntheticConfigFrom({ preset: flags.preset });
  step(
    2,
    `Generating the synthetic '${flags.preset}' dataset (${config.users} users, ${config.items} items)`,
  );
  const written = await writeSyntheticDataset(join(flags.dataDir, 'demo-data'), config);
  for (const file of [written.interactions, written.users, written.items]) {
    process.stdout.write(`    ${basename(file.path).padEnd(18)} ${String(file.rows).padStart(8)} rows\n`);
  }
  return [
    { dataset: 'interactions', path: written.interactions.path },
    { dataset: 'users', path: written.users.path },
    { dataset: 'items', path: written.items.path },
  ];
}

async function dropFiles(stack: EmbeddedStack, files: DatasetFile[]): Promise<void> {
  step(3, 'Dropping the files into the S3 drop folder; the preprocessing Lambda handler ingests them');
  const { unregister } = registerPreprocessHandler(stack, {
    log: createLogger({
      service: 'mappa-preprocess',
      level: 'warn',
    }),
  });
  try {
    // Items and users first, so interaction features can use item categories.
    const ordered = [...files].sort((a, b) => DROP_ORDER.indexOf(a.dataset) - DROP_ORDER.indexOf(b.dataset));
    for (const file of ordered) {
      const started = Date.now();
      const keys = dropKeys(file.dataset, file.path);
      const etag = await uploadFile(stack.s3, stack.names.dataBucket, keys.dataKey, file.path);
      await stack.drainEvents();
      const failure = stack.deadLetters.at(-1);
      if (failure)
        throw new CliError(
          `preprocessing ${keys.dataKey} failed after ${failure.attempts} attempts: ${failure.error}`,
        );
      const report = await readReport(stack.s3, stack.names.dataBucket, keys.reportKey, etag);
      if (!report) throw new CliError(`no ingestion report for ${keys.dataKey}`);
      process.stdout.write(`${formatReport(report, (Date.now() - started) / 1000).replace(/^/gm, '    ')}\n`);
    }
  } finally {
    unregister();
  }
}

/** Writes the IAM usage the run recorded (none with --no-iam); returns the file. */
function writeIamUsage(stack: EmbeddedStack, path: string): string | undefined {
  const usage = stack.account.recorder?.usage();
  if (!usage) return undefined;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, formatIamUsage(usage, 'IAM usage recorded by `mappa demo`'));
  return path;
}

/** The same local API `mappa serve` runs, over the demo's stack. */
async function serveApi(stack: EmbeddedStack, flags: DemoFlags): Promise<LocalApi & { apiKey: string }> {
  const apiKey = randomBytes(8).toString('hex');
  try {
    const api = await startLocalApi({
      port: flags.port,
      apiKey,
      depsFor: localApiDeps(stack, {
        modelRecheckSeconds: 5,
        log: createLogger({
          service: 'mappa-api',
          level: 'error',
        }),
        writeMetrics: () => undefined,
      }),
      rateLimit: { requestsPerSecond: 1_000, burst: 1_000 },
    });
    return Object.assign(api, { apiKey });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new CliError(`port ${flags.port} is already in use; pass --port <free port> (0 picks one)`, 2);
    }
    throw error;
  }
}

/** Trains and returns the model's user ids, most active first (for the tour). */
async function trainModel(stack: EmbeddedStack): Promise<string[]> {
  step(4, 'Running the training job: two-tower model and baselines, evaluation, quality gate, artifacts');
  const backend = await initBackend();
  const report = await runTraining(
    {
      ...stack.clientsFor('train'),
      bucket: stack.names.dataBucket,
      userVectorsTable: stack.names.tables.userVectors,
      ledgerTable: stack.names.tables.ledger,
      experimentsTable: stack.names.tables.experiments,
      log: createLogger({
        service: 'mappa-train',
        level: 'warn',
      }),
      progress: terminalTrainingProgress(),
    },
    {},
    backend.backend,
  );
  process.stdout.write(`${formatTrainingReport(report).replace(/^/gm, '    ')}\n`);
  if (report.segments.k > 0) {
    process.stdout.write(`    segments: ${report.segments.descriptions.join('; ')}\n`);
  }
  return report.activeUsers;
}

/** The demo's new arrivals: two items of a category the first user likes, dropped as an items file. */
async function listNewItems(stack: EmbeddedStack, category: string, price: number): Promise<string[]> {
  const { unregister } = registerPreprocessHandler(stack, {
    log: createLogger({ service: 'mappa-preprocess', level: 'warn' }),
  });
  try {
    const ids = ['new-arrival-1', 'new-arrival-2'];
    const rows = ids.map((id) => csvLine([id, category, price]));
    await stack.s3.send(
      new PutObjectCommand({
        Bucket: stack.names.dataBucket,
        Key: 'incoming/items/new-arrivals.csv',
        Body: ['item_id,category,price', ...rows].join('\n'),
      }),
    );
    await stack.drainEvents();
    return ids;
  } finally {
    unregister();
  }
}

/**
 * Uplift on the synthetic e-mail campaign (persuadables, sleeping dogs, known effect): what `mappa uplift-eval`
 * prints, in short, and the evaluation kept under reports/uplift/ for the HTML report.
 */
async function demoUplift(stack: EmbeddedStack, dir: string): Promise<void> {
  const campaign = generateCampaign({ rows: 20_000, seed: 7 });
  const file = join(dir, 'campaign.csv');
  writeFileSync(file, campaign.csv);
  const { result } = evaluateUplift(parseCsvTable(campaign.csv), {
    treatment: { column: 'group', control: 'control' },
    outcome: campaign.outcomeColumn,
    drop: ['customer_id'],
  });
  const points = (value: number) => `${value >= 0 ? '+' : ''}${(value * 100).toFixed(1)} pts`;
  const [top, bottom] = [result.chosen.deciles[0], result.chosen.deciles[9]];
  process.stdout.write(
    [
      `    ${result.analysedRows} customers, half e-mailed at random (${file}):`,
      `    campaign effect ${points(result.ate.difference)} (95% CI ${points(result.ate.ci95[0])} to ${points(result.ate.ci95[1])}; true ${points(campaign.trueAte)})`,
      `    uplift model ${result.chosen.estimator}: Qini ${result.chosen.qini.toFixed(3)} vs propensity targeting ${result.baselines.propensity.qini.toFixed(3)} (random 0)`,
      `    top decile ${points(top?.observedUplift ?? Number.NaN)} when e-mailed, bottom decile ${points(bottom?.observedUplift ?? Number.NaN)}: leave those out`,
      '',
    ].join('\n'),
  );
  const { outcome, treatment, analysedRows, ate, chosen, baselines, curves } = result;
  await stack.s3.send(
    new PutObjectCommand({
      Bucket: stack.names.dataBucket,
      Key: UPLIFT_REPORT_KEY,
      Body: JSON.stringify({ outcome, treatment, analysedRows, ate, chosen, baselines, curves }),
      ContentType: 'application/json',
    }),
  );
}

/** Price elasticity and recommended prices on a synthetic price history with known elasticities. */
async function demoPricing(stack: EmbeddedStack, dir: string): Promise<void> {
  const history = generatePriceHistory({ seed: 7, itemsPerCategory: 12 });
  const file = join(dir, 'price-history.csv');
  writeFileSync(file, history.csv);
  const result = evaluatePricing(parseCsvTable(history.csv));
  process.stdout.write(
    `    price elasticity and profit-maximising price per category × segment (${file}):\n`,
  );
  for (const group of result.groups) {
    const truth = history.elasticities[group.category]?.[group.segment];
    const move =
      group.decision === 'keep'
        ? 'keep'
        : `${group.decision} ${((group.priceMultiplier - 1) * 100).toFixed(0)}%`;
    process.stdout.write(
      `    ${`${group.category} × ${group.segment}`.padEnd(22)} elasticity ${group.elasticity.estimate.toFixed(2)} (true ${truth})  ${move.padEnd(10)} profit ${group.expectedChange.estimate >= 0 ? '+' : ''}${(group.expectedChange.estimate * 100).toFixed(1)}%\n`,
    );
  }
  const { groups, bounds, weeks, cells } = result;
  await stack.s3.send(
    new PutObjectCommand({
      Bucket: stack.names.dataBucket,
      Key: PRICING_REPORT_KEY,
      Body: JSON.stringify({ groups, bounds, weeks, cells }),
      ContentType: 'application/json',
    }),
  );
}
