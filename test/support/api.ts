import { type LocalApi, startLocalApi } from '../../shared/local/api-server';
import { localApiDeps } from '../../shared/local/api-wiring';
import { createLogger, type LogLevel } from '../../shared/observability/logger';
import { SYNTHETIC_PRESETS, SyntheticWorld } from '../../shared/synthetic/generator';
import { exportRecommendations } from '../../shared/serving/batch-export';
import { s3ModelSource } from '../../shared/serving/model-store';
import type { ModelManifest } from '../../shared/contracts/artifacts';
import { runTraining, type TrainingRunReport } from '../../shared/training/run-training';
import { expectDocumentedResponse } from './openapi';
import type { IngestionStack } from './ingestion';

export const API_KEY = 'test-api-key';

/** The local API over a test stack, as `mappa serve` runs it; logs go to stdout at `logLevel` (default: none). */
export function startTestApi(
  env: Pick<IngestionStack, 'stack'>,
  options: { logLevel?: LogLevel; modelRecheckSeconds?: number } = {},
): Promise<LocalApi> {
  return startLocalApi({
    port: 0,
    apiKey: API_KEY,
    depsFor: localApiDeps(env.stack, {
      log: createLogger({ service: 'test', level: options.logLevel ?? 'silent' }),
      writeMetrics: () => undefined,
      ...(options.modelRecheckSeconds ? { modelRecheckSeconds: options.modelRecheckSeconds } : {}),
    }),
  });
}

/** A small synthetic shop: items with categories and prices, and their interactions. */
export function testWorld(): SyntheticWorld {
  return new SyntheticWorld({ ...SYNTHETIC_PRESETS.tiny, users: 80, items: 60, interactions: 3_000 });
}

/** Drops the world's items (with any extra columns, computed from each item's index) and interactions. */
export async function dropWorld(
  env: IngestionStack,
  world: SyntheticWorld,
  extraItemColumns: Readonly<Record<string, (index: number) => string | number>> = {},
): Promise<void> {
  const extra = Object.entries(extraItemColumns);
  await env.drop(
    'incoming/items/items.csv',
    [
      ['item_id,category,price', ...extra.map(([column]) => column)].join(','),
      ...world.items.map((item, index) =>
        [item.itemId, item.category, item.price, ...extra.map(([, value]) => value(index))].join(','),
      ),
    ].join('\n'),
  );
  await env.drop(
    'incoming/interactions/events.csv',
    [
      'user_id,item_id,timestamp,event_type,event_value',
      ...[...world.interactions()].map(
        (row) => `${row.userId},${row.itemId},${row.timestamp},${row.eventType},${row.eventValue ?? ''}`,
      ),
    ].join('\n'),
  );
}

/** Trains a small model and promotes it whatever its quality (these tests are about serving). */
export function trainQuickModel(env: IngestionStack, trainedAt: Date, seed = 1): Promise<TrainingRunReport> {
  return runTraining(
    {
      ...env.stack.clientsFor('train'),
      bucket: env.bucket,
      userVectorsTable: env.stack.names.tables.userVectors,
      ledgerTable: env.stack.names.tables.ledger,
      log: createLogger({ service: 'test', level: 'silent' }),
      now: () => trainedAt,
    },
    {
      config: { embeddingDim: 16, epochs: 2, batchSize: 128, seed },
      gate: { minLiftOverPopularity: -1, maxRegression: 1 },
    },
  );
}

export interface ApiResponse<T = Record<string, unknown>> {
  readonly status: number;
  readonly body: T;
  readonly headers: Headers;
}

/**
 * Calls the local API; checks every response against docs/openapi.json.
 * `operationId` null skips the check (API Gateway's own answers to unknown routes).
 */
export async function call<T = Record<string, unknown>>(
  baseUrl: string,
  operationId: string | null,
  method: string,
  path: string,
  options: { body?: unknown; apiKey?: string | null } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const key = options.apiKey === undefined ? API_KEY : options.apiKey;
  if (key !== null) headers['x-api-key'] = key;
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    ...(options.body !== undefined
      ? { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }
      : {}),
  });
  const body = (await response.json()) as T;
  if (operationId) expectDocumentedResponse(operationId, response.status, body);
  return { status: response.status, body, headers: response.headers };
}

/** The batch export of every user's top `limit` for a model version, as CSV data lines (header left out). */
export async function exportedLines(
  env: IngestionStack,
  manifest: ModelManifest,
  limit = 10,
): Promise<string[]> {
  const model = await s3ModelSource(env.stack.s3, env.bucket).load(manifest);
  const exported = await exportRecommendations(
    { s3: env.stack.s3, dynamoDb: env.stack.dynamoDb, bucket: env.bucket, tables: env.stack.names.tables },
    model,
    { limit },
  );
  return (await env.readText(exported.key)).trim().split('\n').slice(1);
}

/** Export lines (`userId,rank,itemId,…`) recommending an item the user already had. */
export function linesWithConsumedItems(
  lines: readonly string[],
  consumed: ReadonlyMap<string, { has(itemId: string): boolean }>,
): string[] {
  return lines.filter((line) => {
    const [userId, , itemId] = line.split(',');
    return consumed.get(userId as string)?.has(itemId as string) ?? false;
  });
}
