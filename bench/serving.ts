import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import autocannon from 'autocannon';
import { build } from 'esbuild';
import { ENV } from '../shared/config/env-names';
import { EmbeddedStack } from '../shared/local/embedded-stack';
import { registerPreprocessHandler } from '../shared/local/preprocess-wiring';
import { clearLocalState } from '../shared/local/state-file';
import { initBackend } from '../shared/ml/backend';
import { createLogger } from '../shared/observability/logger';
import { ItemIndex, TopKHeap } from '../shared/serving/item-index';
import { s3ModelSource, type ServedModel } from '../shared/serving/model-store';
import { type AppliedFilter, recommend } from '../shared/serving/recommender';
import { NamedFilters } from '../shared/serving/filters/named-filters';
import { API_FUNCTIONS } from '../shared/serving/routes';
import { MANIFEST_KEY, type ModelManifest } from '../shared/contracts/artifacts';
import { runTraining } from '../shared/training/run-training';
import { ML_100K } from '../test/support/shared-data';
import { formatTable, report, type Row } from './report';
import { startServer } from './serve-process';

/**
 * Serving speed, each figure next to its baseline or physical floor:
 * - in-process top-10 for one user (WebAssembly SIMD scan + heap) vs the plain-JS
 *   loop it replaced, and vs one read of the item matrix at memory bandwidth;
 *   for the ml-100k model and 100k / 1M synthetic items × 64 dimensions;
 * - cold start: new Node process → first response, the handler bundled by esbuild
 *   as for Lambda, model fetched from the local S3;
 * - end to end through `mappa serve` (separate process) with the embedded
 *   DynamoDB at a fixed 100 requests/s for 60 s, driven by autocannon;
 * - bundle size of every API function (esbuild, minified).
 */
const ROOT = join(__dirname, '..');
// Outside the repository: bundles written here must not be linted or committed.
const WORK = join(tmpdir(), 'mappa-bench-serving');

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

function timeRepeated(runs: number, run: (iteration: number) => void): { p50: number; p99: number } {
  for (let warm = 0; warm < Math.min(50, runs); warm++) run(warm);
  const times: number[] = [];
  for (let iteration = 0; iteration < runs; iteration++) {
    const started = performance.now();
    run(iteration);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99) };
}

/** The scoring loop serving used before the WebAssembly kernel: plain JS dot products + heap. */
function plainJsTopK(vectors: Float32Array, width: number, user: Float32Array, k: number): void {
  const heap = new TopKHeap(k);
  const items = vectors.length / width;
  for (let item = 0; item < items; item++) {
    let score = 0;
    const offset = item * width;
    for (let dimension = 0; dimension < width; dimension++) {
      score += (vectors[offset + dimension] as number) * (user[dimension] as number);
    }
    heap.offer(item, score);
  }
  heap.sorted();
}

function seededVectors(count: number, seed: number): Float32Array {
  let state = seed >>> 0;
  const values = new Float32Array(count);
  for (let index = 0; index < count; index++) {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    values[index] = state / 2 ** 32 - 0.5;
  }
  return values;
}

function scanRows(
  workload: string,
  items: number,
  vectors: Float32Array,
  index: ItemIndex,
  users: Float32Array[],
  runs: number,
): Row[] {
  const width = index.width;
  const kernel = timeRepeated(runs, (iteration) =>
    index.topK(users[iteration % users.length] as Float32Array, 10),
  );
  const baseline = timeRepeated(Math.max(5, Math.floor(runs / 4)), (iteration) =>
    plainJsTopK(vectors, width, users[iteration % users.length] as Float32Array, 10),
  );
  const floor = timeRepeated(runs, () => index.readMatrix());
  const megabytes = (items * Math.ceil(width / 4) * 4 * 4) / 2 ** 20;
  return [
    {
      workload,
      implementation: 'wasm SIMD scan + heap (served)',
      items,
      p50_ms: kernel.p50,
      p99_ms: kernel.p99,
      matrix_MiB: megabytes,
    },
    {
      workload,
      implementation: 'plain-JS loop + heap (baseline)',
      items,
      p50_ms: baseline.p50,
      p99_ms: baseline.p99,
      matrix_MiB: megabytes,
    },
    {
      workload,
      implementation: 'one read of the matrix (floor)',
      items,
      p50_ms: floor.p50,
      p99_ms: floor.p99,
      matrix_MiB: megabytes,
    },
  ];
}

async function trainMl100kModel(stack: EmbeddedStack): Promise<void> {
  const bucket = stack.names.dataBucket;
  const put = (key: string, body: string | Buffer) =>
    stack.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  await put(
    'incoming/interactions/ml-100k/_mapping.json',
    JSON.stringify({
      delimiter: '\t',
      header: ['user_id', 'item_id', 'event_value', 'timestamp'],
      constants: { event_type: 'rating' },
    }),
  );
  process.stderr.write('serving bench: ingesting ml-100k through the drop folder…\n');
  await put('incoming/interactions/ml-100k/u.data', readFileSync(ML_100K));
  await stack.drainEvents();
  process.stderr.write('serving bench: training a model (3 epochs)…\n');
  await runTraining(
    {
      s3: stack.s3,
      dynamoDb: stack.dynamoDb,
      bucket,
      userVectorsTable: stack.names.tables.userVectors,
      ledgerTable: stack.names.tables.ledger,
      log: createLogger({ service: 'bench', level: 'error' }),
    },
    { config: { epochs: 3 }, gate: { minLiftOverPopularity: -1, maxRegression: 1 } },
  );
}

async function bundle(fn: string, external: string[]): Promise<{ path: string; bytes: number }> {
  const path = join(WORK, `${fn}${external.length > 0 ? '' : '.standalone'}.js`);
  await build({
    entryPoints: [join(ROOT, 'functions', 'api', `${fn}.ts`)],
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile: path,
    external,
    logLevel: 'error',
  });
  return { path, bytes: statSync(path).size };
}

/** New process → first recommendations response; the model comes from the local S3. */
async function coldStart(
  stack: EmbeddedStack,
  bundlePath: string,
): Promise<{ totalMs: number; inProcessMs: number }> {
  const entry = join(WORK, 'cold-start-entry.js');
  writeFileSync(
    entry,
    `const { handler } = require(${JSON.stringify(bundlePath)});
const event = JSON.parse(process.env.BENCH_EVENT);
const context = { awsRequestId: 'cold-start', getRemainingTimeInMillis: () => 29000 };
handler(event, context).then((response) => {
  process.stdout.write(JSON.stringify({ status: response.statusCode, body: response.body.slice(0, 200), atMs: performance.now() }) + '\\n');
  process.exit(0);
});
`,
  );
  const event = {
    resource: '/v1/users/{userId}/recommendations',
    path: '/v1/users/1/recommendations',
    httpMethod: 'GET',
    headers: {},
    multiValueHeaders: {},
    queryStringParameters: { limit: '10' },
    multiValueQueryStringParameters: { limit: ['10'] },
    pathParameters: { userId: '1' },
    stageVariables: null,
    body: null,
    isBase64Encoded: false,
    requestContext: { requestId: 'cold-start' },
  };
  const started = performance.now();
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [entry], {
      env: {
        ...process.env,
        ...stack.clientEnvironment(),
        [ENV.dataBucket]: stack.names.dataBucket,
        [ENV.usersTable]: stack.names.tables.users,
        [ENV.userVectorsTable]: stack.names.tables.userVectors,
        [ENV.experimentsTable]: stack.names.tables.experiments,
        [ENV.filtersTable]: stack.names.tables.filters,
        [ENV.attributionTable]: stack.names.tables.attribution,
        [ENV.ledgerTable]: stack.names.tables.ledger,
        [ENV.itemsTable]: stack.names.tables.items,
        [ENV.logLevel]: 'error',
        BENCH_EVENT: JSON.stringify(event),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    child.on('exit', (code) =>
      code === 0 ? resolve(text) : reject(new Error(`cold-start child exited ${code}`)),
    );
  });
  const totalMs = performance.now() - started;
  const line = output.split('\n').find((candidate) => candidate.startsWith('{"status"'));
  const result = JSON.parse(line ?? '{}') as { status: number; atMs: number; body: string };
  if (result.status !== 200) throw new Error(`cold start answered ${result.status}: ${result.body}`);
  return { totalMs, inProcessMs: result.atMs };
}

/**
 * recommend() over 10^5 items, unfiltered vs with a named filter (an Items part with a parameter, an
 * Interactions part) and a 20% promotion from another filter — side by side in one run. The filters' item
 * masks come from the NamedFilters cache as in the API (computed once per version and parameters).
 */
export async function filteredRecommendRows(): Promise<Row[]> {
  const count = 100_000;
  const width = 65;
  const categories = Array.from({ length: 20 }, (_, index) => `c${index}`);
  let state = 7;
  const next = () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
  const attributes = Array.from({ length: count }, () => {
    const price = Math.round(5 + next() * 95);
    return {
      category: categories[Math.floor(next() * categories.length)] as string,
      price,
      attributes: { stock: next() < 0.1 ? 0 : 1 + Math.floor(next() * 50), price },
    };
  });
  const index = new ItemIndex(
    seededVectors(count * width, 11),
    Array.from({ length: count }, (_, item) => `i${item}`),
    attributes,
  );
  const model = {
    manifest: { version: 'bench', trainedAt: '2026-01-01T00:00:00Z', serving: 'model' },
    items: index,
    userIds: new Map(),
    popularity: new Float32Array(count),
    trending: new Float32Array(count),
  } as unknown as ServedModel;
  const expressions: Record<string, string> = {
    shelf:
      'EXCLUDE ItemID WHERE Items.stock = 0 | INCLUDE ItemID WHERE Items.category IN ($CATEGORIES) | EXCLUDE ItemID WHERE Interactions.event_type IN ("purchase")',
    clearance: 'INCLUDE ItemID WHERE Items.price < 20',
  };
  const filters = new NamedFilters(
    async (name) => ({ name, expression: expressions[name] as string, createdAt: '2026-01-01T00:00:00Z' }),
    60_000,
  );
  const parameters = { CATEGORIES: categories.slice(0, 10).join(',') };
  const resolved = {
    shelf: await filters.get('shelf'),
    clearance: await filters.get('clearance'),
  };
  // What a request does per filter once both caches are warm: look the mask up, bind the parameters.
  const applied = (name: 'shelf' | 'clearance'): AppliedFilter => {
    const filter = resolved[name];
    if (!filter) throw new Error(`filter ${name} missing`);
    const mask = filters.mask(filter, parameters, 'bench', index.attributes);
    return { name, expression: filter.expression, parameters, ...(mask ? { mask } : {}) };
  };
  const users = Array.from({ length: 16 }, (_, user) => seededVectors(width, 100 + user));
  const recent = Array.from({ length: 50 }, (_, step) => ({
    item_id: `i${(step * 7919) % count}`,
    timestamp: 1_700_000_000 + step,
    event_type: step % 5 === 0 ? 'purchase' : 'view',
  }));
  const userState = (iteration: number) => ({
    recent,
    precomputed: users[iteration % users.length] as Float32Array,
  });
  const unfiltered = timeRepeated(400, (iteration) =>
    recommend(model, 'u', userState(iteration), { limit: 10, excludeSeen: true }),
  );
  const filtered = timeRepeated(400, (iteration) =>
    recommend(model, 'u', userState(iteration), {
      limit: 10,
      excludeSeen: true,
      filter: applied('shelf'),
      promotion: { filter: applied('clearance'), share: 0.2 },
    }),
  );
  return [
    {
      workload: '100k items recommend()',
      implementation: 'unfiltered (baseline)',
      items: count,
      p50_ms: unfiltered.p50,
      p99_ms: unfiltered.p99,
      matrix_MiB: null,
    },
    {
      workload: '100k items recommend()',
      implementation: `filter (3 parts) + 20% promotion: ${(filtered.p50 / unfiltered.p50).toFixed(2)}× the unfiltered p50`,
      items: count,
      p50_ms: filtered.p50,
      p99_ms: filtered.p99,
      matrix_MiB: null,
    },
  ];
}

export async function runServingBenchmark(): Promise<void> {
  if (!existsSync(ML_100K))
    throw new Error(`${ML_100K} not found: the benchmark reads MovieLens 100K from ../shared/data`);
  const seconds = Number(process.env.MAPPA_BENCH_SERVING_SECONDS ?? 60);
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  await initBackend({ force: 'wasm' });
  const stack = await EmbeddedStack.start({
    s3Port: 0,
    dynamoDbPort: 0,
    dataDir: join(WORK, 'stack'),
    inMemoryDynamoDb: true,
  });
  registerPreprocessHandler(stack, { log: createLogger({ service: 'bench', level: 'error' }) });
  const rows: Row[] = [];
  try {
    await trainMl100kModel(stack);
    const manifestObject = await stack.s3.send(
      new GetObjectCommand({ Bucket: stack.names.dataBucket, Key: MANIFEST_KEY }),
    );
    const manifest = JSON.parse(
      (await manifestObject.Body?.transformToString('utf8')) ?? '{}',
    ) as ModelManifest;
    const model: ServedModel = await s3ModelSource(stack.s3, stack.names.dataBucket).load(manifest);

    // In-process scoring, ml-100k: user vectors from the user tower over real histories.
    const users = Array.from({ length: 200 }, (_, user) =>
      model.tower.vector(
        Array.from({ length: 20 }, (_, step) => (user * 7 + step * 13) % model.items.size),
        user,
      ),
    );
    const mlVectors = new Float32Array(model.items.size * model.items.width);
    for (let item = 0; item < model.items.size; item++)
      mlVectors.set(model.items.vector(item), item * model.items.width);
    rows.push(...scanRows('ml-100k top-10', model.items.size, mlVectors, model.items, users, 5_000));
    const full = timeRepeated(2_000, (iteration) =>
      recommend(
        model,
        String(iteration % 943),
        { recent: [], precomputed: users[iteration % users.length] as Float32Array },
        {
          limit: 10,
          excludeSeen: true,
        },
      ),
    );
    rows.push({
      workload: 'ml-100k recommend() incl. filters, reasons',
      implementation: 'served',
      items: model.items.size,
      p50_ms: full.p50,
      p99_ms: full.p99,
      matrix_MiB: null,
    });

    // Bundles: as deployed (AWS SDK from the Lambda runtime) and fully standalone.
    const bundles: Row[] = [];
    for (const fn of API_FUNCTIONS) {
      const deployed = await bundle(fn, ['@aws-sdk/client-*', '@aws-sdk/lib-storage']);
      const standalone = await bundle(fn, []);
      bundles.push({
        function: fn,
        deployed_KiB: Math.round(deployed.bytes / 1024),
        standalone_KiB: Math.round(standalone.bytes / 1024),
      });
    }

    const cold = [];
    for (let run = 0; run < 3; run++)
      cold.push(await coldStart(stack, join(WORK, 'recommendations.standalone.js')));
    const coldSorted = cold.map((entry) => entry.totalMs).sort((a, b) => a - b);
    rows.push({
      workload: 'cold start: new process → first response (ml-100k model from local S3)',
      implementation: 'esbuild bundle, median of 3',
      items: model.items.size,
      p50_ms: percentile(coldSorted, 0.5),
      p99_ms: coldSorted.at(-1) ?? null,
      matrix_MiB: null,
    });

    const dataDir = join(WORK, 'serve');
    const server = await startServer(stack, dataDir);
    try {
      const userIds = [...model.userIds.keys()];
      // Warm up: the first request loads the model (that is the cold start, measured above).
      for (let request = 0; request < 200; request++) {
        const response = await fetch(
          `${server.url}/v1/users/${userIds[request % userIds.length]}/recommendations`,
          {
            headers: { 'x-api-key': 'bench' },
          },
        );
        await response.arrayBuffer();
      }
      // The load generator runs in a worker thread, off the thread that hosts the emulators.
      const setupRequest = join(WORK, 'setup-request.js');
      writeFileSync(
        setupRequest,
        `const users = ${JSON.stringify(userIds)};
let next = 0;
module.exports = (request) => ({ ...request, path: '/v1/users/' + users[next++ % users.length] + '/recommendations?limit=10' });
`,
      );
      // Two arrival patterns at the same 100 req/s: near-steady (2 connections, 50 req/s each)
      // and bursty (10 connections whose timers fire together: bursts of 10 every 100 ms).
      for (const connections of [2, 10]) {
        const handlerLogged = server.handlerLatencies.length;
        const result = await autocannon({
          url: server.url,
          connections,
          overallRate: 100,
          duration: seconds,
          workers: 1,
          headers: { 'x-api-key': 'bench' },
          requests: [
            { method: 'GET', setupRequest: setupRequest as unknown as autocannon.Request['setupRequest'] },
          ],
        });
        await new Promise((resolve) => setTimeout(resolve, 200)); // the last log lines
        const handler = server.handlerLatencies.slice(handlerLogged).sort((a, b) => a - b);
        rows.push({
          workload: `end to end: mappa serve + embedded DynamoDB, 100 req/s for ${seconds} s, ${connections} connections`,
          implementation: `autocannon, ${result.requests.total} requests, ${result.errors + result.non2xx} errors`,
          items: model.items.size,
          p50_ms: result.latency.p50,
          p99_ms: result.latency.p99,
          matrix_MiB: null,
        });
        rows.push({
          workload: `  of which inside the handlers (server-side log)`,
          implementation: `${handler.length} requests`,
          items: model.items.size,
          p50_ms: percentile(handler, 0.5),
          p99_ms: percentile(handler, 0.99),
          matrix_MiB: null,
        });
      }
    } finally {
      const exited = new Promise((resolve) => server.child.once('exit', resolve));
      server.child.kill('SIGTERM');
      await exited; // before the stack it is connected to goes away
      clearLocalState(dataDir);
    }

    // Large synthetic catalogues last: their half-gigabyte of vectors must not disturb the latency runs.
    for (const count of [100_000, 1_000_000]) {
      const width = 65;
      const vectors = seededVectors(count * width, count);
      const index = new ItemIndex(
        vectors,
        Array.from({ length: count }, (_, item) => `i${item}`),
        Array.from({ length: count }, () => ({ category: null, price: null })),
      );
      const queries = Array.from({ length: 16 }, (_, query) => seededVectors(width, query + 1));
      rows.push(
        ...scanRows(
          `${count / 1000}k synthetic × 64 top-10`,
          count,
          vectors,
          index,
          queries,
          count > 100_000 ? 60 : 400,
        ),
      );
    }

    rows.push(...(await filteredRecommendRows()));

    report('serving', rows, {
      targets: {
        '100k recommend() with a filter and 20% promotion p50': '<= 1.5 × the unfiltered p50 (#18)',
        'ml-100k top-10 p50': '<= 0.25 ms',
        '100k × 64 top-10 p50': '<= 3 ms',
        '1M × 64 top-10 p50': '<= 25 ms',
        'end to end p99 at 100 req/s':
          '<= 30 ms, 0 errors (the 2-connection, near-steady run; the bursty run is shown for context)',
        'cold start': '<= 1000 ms',
        'bundle per API function': '<= 2 MB',
      },
      bundles,
      coldStartRuns: cold,
    });
    process.stdout.write(`\nbundle sizes (esbuild, minified)\n${formatTable(bundles)}\n`);
  } finally {
    await stack.stop();
  }
}
