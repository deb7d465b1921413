import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import autocannon from 'autocannon';
import { EmbeddedStack } from '../shared/local/embedded-stack';
import { registerPreprocessHandler } from '../shared/local/preprocess-wiring';
import { clearLocalState } from '../shared/local/state-file';
import { createExperiment, variantTotals } from '../shared/marketing/experiment-store';
import { type ExperimentDefinition, experimentReportFromTotals } from '../shared/marketing/experiments';
import { createLogger } from '../shared/observability/logger';
import { API_EVENTS_FOLDER, EVENTS_DELIVERY } from '../shared/resources/definitions';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { formatTable, report, type Row } from './report';
import { startServer } from './serve-process';

/**
 * The events write path end to end, with the local doubles: `mappa serve` (its own process) takes
 * `POST /v1/events` at a fixed rate of 10-event requests from autocannon, puts each request on the events
 * delivery stream (the Firehose double in this process, with the deployed stream's 60 s / 5 MiB buffering
 * hints), which writes buffers into `incoming/interactions/api-events/`. Counted at the end, after the last
 * buffer's interval has run out on its own: events accepted (202s × 10) against distinct events delivered
 * to the drop folder — lost = accepted − delivered. Ingestion of the delivered files runs on its own Lambdas in AWS; on this 2-core machine it would
 * take the API's cores, so it is left out unless MAPPA_BENCH_EVENTS_INGEST=1 (then the preprocess handler
 * ingests each file as it lands, in the stack's process). And the experiment report read from pre-aggregated
 * counters standing for 10^6 exposures.
 */
const WORK = join(tmpdir(), 'mappa-bench-events');

async function keysUnder(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) keys.push(object.Key as string);
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

async function deliveredEvents(s3: S3Client, bucket: string): Promise<Set<string>> {
  const events = new Set<string>();
  for (const key of (await keysUnder(s3, bucket, API_EVENTS_FOLDER)).filter((name) =>
    name.endsWith('.jsonl'),
  )) {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    for (const line of ((await object.Body?.transformToString()) ?? '').split('\n')) {
      if (!line) continue;
      const event = JSON.parse(line) as {
        user_id: string;
        item_id: string;
        timestamp: number;
        event_type: string;
      };
      events.add(`${event.user_id}|${event.item_id}|${event.timestamp}|${event.event_type}`);
    }
  }
  return events;
}

/** The experiment report over counters standing for 10^6 exposures (8 shards per variant). */
async function experimentReportRow(stack: EmbeddedStack): Promise<Row> {
  const table = { client: stack.dynamoDb, table: stack.names.tables.experiments };
  const definition = {
    experimentId: 'bench-million',
    variants: [
      { name: 'control', strategy: 'popular', weight: 1 },
      { name: 'model', strategy: 'personalized', weight: 1 },
    ],
    costPerContact: 0.1,
    minimumDetectableLift: 0.1,
  } as ExperimentDefinition;
  await createExperiment(table, definition, new Date());
  for (const variant of ['control', 'model']) {
    for (let shard = 0; shard < 8; shard++) {
      await stack.dynamoDb.send(
        new UpdateItemCommand({
          TableName: table.table,
          Key: { experiment_id: { S: definition.experimentId }, entry: { S: `variant#${variant}#${shard}` } },
          UpdateExpression:
            'SET variant = :v ADD #users :u, exposures :e, clicks :c, converters :k, revenue :r, revenue_sq :q',
          ExpressionAttributeNames: { '#users': 'users' },
          ExpressionAttributeValues: {
            ':v': { S: variant },
            ':u': { N: '25000' },
            ':e': { N: '62500' },
            ':c': { N: '6000' },
            ':k': { N: variant === 'model' ? '1300' : '1100' },
            ':r': { N: '52000' },
            ':q': { N: '3100000' },
          },
        }),
      );
    }
  }
  const times: number[] = [];
  for (let run = 0; run < 20; run++) {
    const started = performance.now();
    experimentReportFromTotals(definition, await variantTotals(table, definition.experimentId));
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const totals = await variantTotals(table, definition.experimentId);
  const exposures = [...totals.values()].reduce((sum, variant) => sum + variant.exposures, 0);
  return {
    workload: `experiment report over ${exposures.toLocaleString('en-US')} exposures`,
    implementation: 'pre-aggregated counters: 2 variants × 8 shards read (one Query)',
    value: Number((times[10] as number).toFixed(2)),
    unit: 'ms p50',
  };
}

/** What did not get a 2xx: answers by status, and connection errors (timeouts included). */
function failures(result: autocannon.Result): string {
  const answers = Object.entries(result.statusCodeStats ?? {})
    .filter(([code]) => !code.startsWith('2'))
    .map(([code, stats]) => `${stats.count} × ${code}`);
  const parts = [
    ...answers,
    ...(result.errors > 0 ? [`${result.errors} connection errors (${result.timeouts} timeouts)`] : []),
  ];
  return parts.length > 0 ? parts.join(', ') : '0 errors';
}

/** Waits until the double has written everything it accepted (the buffer interval runs out on its own). */
async function waitForDelivery(stack: EmbeddedStack, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (stack.firehose.pendingRecords() > 0) {
    if (performance.now() - started > timeoutMs) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return (performance.now() - started) / 1000;
}

export async function runEventsBenchmark(): Promise<void> {
  const seconds = Number(process.env.MAPPA_BENCH_EVENTS_SECONDS ?? 60);
  const requestsPerSecond = Number(process.env.MAPPA_BENCH_EVENTS_RATE ?? 110);
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  const stack = await EmbeddedStack.start({
    s3Port: 0,
    dynamoDbPort: 0,
    dataDir: join(WORK, 'stack'),
    inMemoryDynamoDb: true,
  });
  const ingesting = process.env.MAPPA_BENCH_EVENTS_INGEST === '1';
  if (ingesting)
    registerPreprocessHandler(stack, { log: createLogger({ service: 'bench', level: 'error' }) });
  const rows: Row[] = [];
  const bucket = stack.names.dataBucket;
  try {
    const dataDir = join(WORK, 'serve');
    const { url, child } = await startServer(stack, dataDir);
    const setupRequest = join(WORK, 'setup-request.js');
    // Ten distinct events per request: every event can be found again in the drop folder.
    writeFileSync(
      setupRequest,
      `let next = 0;
// A month back: ten seconds apart per request, a long run's events all stay in the past.
const base = Math.floor(Date.now() / 1000) - 30 * 86400;
module.exports = (request) => {
  const id = next++;
  const events = Array.from({ length: 10 }, (_, e) => ({
    userId: 'u' + (id % 2000), itemId: 'i' + ((id * 10 + e) % 5000), eventType: 'view', timestamp: base + id * 10 + e,
  }));
  return { ...request, body: JSON.stringify({ events }) };
};
`,
    );
    process.stdout.write(`events bench: ${requestsPerSecond} requests/s × 10 events for ${seconds} s…\n`);
    const result = await autocannon({
      url: `${url}/v1/events`,
      // Enough connections that a slow response does not hold back the offered rate (autocannon queues
      // behind a busy connection instead of opening another).
      connections: 20,
      overallRate: requestsPerSecond,
      duration: seconds,
      workers: 1,
      method: 'POST',
      headers: { 'x-api-key': 'bench', 'content-type': 'application/json' },
      requests: [
        { method: 'POST', setupRequest: setupRequest as unknown as autocannon.Request['setupRequest'] },
      ],
    });
    const accepted = result['2xx'] * 10;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    clearLocalState(dataDir);
    process.stdout.write(
      `events bench: waiting for the last buffer (${EVENTS_DELIVERY.bufferingIntervalSeconds} s interval)…\n`,
    );
    const waited = await waitForDelivery(stack, (EVENTS_DELIVERY.bufferingIntervalSeconds + 30) * 1000);
    await stack.drainEvents();
    const { acceptedRecords, deliveredObjects } = stack.firehose.stats()[stack.names.eventsStream] ?? {
      acceptedRecords: 0,
      deliveredObjects: [],
    };
    const delivered = await deliveredEvents(stack.s3, bucket);
    rows.push(
      {
        workload: `POST /v1/events, ${requestsPerSecond} × 10-event requests/s offered for ${seconds} s${ingesting ? ', ingestion on the same cores' : ''}`,
        implementation: `${result.requests.total} requests, ${result['2xx']} accepted, ${failures(result)}`,
        value: Number((accepted / seconds).toFixed(0)),
        unit: 'events/s accepted',
      },
      {
        workload: 'POST /v1/events latency',
        implementation: `p50 ${result.latency.p50} ms`,
        value: result.latency.p99,
        unit: 'ms p99',
      },
      {
        workload:
          'delivered to incoming/ (API → Firehose double, 60 s / 5 MiB buffers → S3), distinct events',
        // Requests still in flight when the load stopped got their 202 after autocannon stopped counting:
        // delivered beyond the accepted count are theirs.
        implementation: `${accepted} accepted, ${delivered.size} delivered (${Math.max(delivered.size - accepted, 0)} from requests in flight at the end) in ${deliveredObjects.length} files from ${acceptedRecords} records, ${stack.firehose.pendingRecords()} records undelivered; last buffer out ${waited.toFixed(1)} s after the load`,
        value: Math.max(accepted - delivered.size, 0),
        unit: 'events lost',
      },
    );
    rows.push(await experimentReportRow(stack));
  } finally {
    await stack.stop();
  }
  report('events', rows, {
    targets: {
      'sustained events/s end to end': '>= 1,000 for 60 s, 0 lost (#22)',
      'experiment report over 10^6 exposures': '<= 1 s (#22)',
    },
  });
  process.stdout.write(`${formatTable(rows)}\n`);
}
