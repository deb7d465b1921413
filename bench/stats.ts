import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { readColumnStat, statKey } from '../shared/feature-store/feature-store';
import { ingestionDeps } from '../shared/ingest/drop-folder';
import { ingestObject } from '../shared/ingest/ingest-object';
import { EmbeddedStack } from '../shared/local/embedded-stack';
import { createLogger } from '../shared/observability/logger';
import { formatTable, report, type Row } from './report';

/**
 * Dataset statistics under concurrent ingestion: 8 interactions files (distinct users, so only the
 * per-column statistics are shared) ingested at once, as 8 preprocess Lambdas would; optimistic-lock
 * conflicts on the dataset-stats table counted with one statistics item per column (the old layout) and
 * with the statistics spread over 8 shards, side by side.
 */
const WORK = join(tmpdir(), 'mappa-bench-stats');
const FILES = 8;
const ROWS = 4_000;

async function run(shards: number): Promise<Row> {
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  const stack = await EmbeddedStack.start({
    s3Port: 0,
    dynamoDbPort: 0,
    dataDir: WORK,
    inMemoryDynamoDb: true,
  });
  try {
    const clients = stack.account.newClientsFor('preprocess');
    let statWrites = 0;
    let conflicts = 0;
    clients.dynamoDb.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { TableName?: string; Item?: unknown };
        const isStat = input.TableName === stack.names.tables.datasetStats && input.Item !== undefined;
        if (isStat) statWrites++;
        try {
          return await next(args);
        } catch (error) {
          if (isStat && error instanceof ConditionalCheckFailedException) conflicts++;
          throw error;
        }
      },
      { step: 'initialize', name: 'countStatConflicts' },
    );
    const deps = {
      ...ingestionDeps(
        {
          s3: clients.s3,
          bucket: stack.names.dataBucket,
          log: createLogger({ service: 'bench', level: 'error' }),
        },
        clients.dynamoDb,
        stack.names.tables,
      ),
      chunkRows: 500,
      statShards: shards,
    };
    const sources = [];
    for (let file = 0; file < FILES; file++) {
      const lines = ['user_id,item_id,timestamp,event_type,event_value'];
      for (let row = 0; row < ROWS; row++) {
        lines.push(`f${file}u${row % 400},i${row % 997},${1_764_000_000 + row},purchase,${(row % 50) + 1}`);
      }
      const key = `incoming/interactions/file-${file}.csv`;
      const put = await stack.s3.send(
        new PutObjectCommand({ Bucket: stack.names.dataBucket, Key: key, Body: lines.join('\n') }),
      );
      sources.push({
        key,
        etag: (put.ETag ?? '').replace(/"/g, ''),
        dataset: 'interactions' as const,
        relativeKey: `file-${file}.csv`,
      });
    }
    const started = performance.now();
    await Promise.all(sources.map((source) => ingestObject(deps, source)));
    const seconds = (performance.now() - started) / 1000;
    const stat = await readColumnStat(deps.featureStore, statKey('interactions', 'numeric', 'event_value'));
    return {
      layout: shards === 1 ? 'one item per column (before)' : `${shards} shards per column`,
      files: FILES,
      rows: FILES * ROWS,
      stat_writes: statWrites,
      conflicts,
      conflict_rate: Number((conflicts / Math.max(statWrites, 1)).toFixed(3)),
      seconds: Number(seconds.toFixed(1)),
      merged_count_ok: stat?.kind === 'numeric' && stat.count === FILES * ROWS,
    };
  } finally {
    await stack.stop();
  }
}

export async function runStatsBenchmark(): Promise<void> {
  const rows = [await run(1), await run(8)];
  report('stats', rows, {
    target:
      'dataset statistics without a hot item per dataset; conflict rate under 8 concurrent files measured (#22)',
  });
  process.stdout.write(`${formatTable(rows)}\n`);
}
