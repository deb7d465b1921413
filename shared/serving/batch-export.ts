import { PassThrough } from 'node:stream';
import { type AttributeValue, BatchGetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { csvLine } from '../data/formats';
import { float32FromBytes } from '../data/binary';
import { decodeItemSet } from '../data/item-set';
import type { RecentInteraction } from '../feature-store/features';
import { DATA_LAKE_PREFIXES } from '../resources/definitions';
import type { ServedModel } from './model-store';
import {
  type AppliedFilter,
  DEFAULT_POLICY,
  recommend,
  type ServingPolicy,
  type UserState,
} from './recommender';
import { decodeRecent, type ServingTables } from './user-state';
import { parseCsvTable } from '../marketing/tabular';
import { resendUntilProcessed } from '../aws/retry';
import { recommendationId, type ServedContext } from '../marketing/attribution';
import { recordServed } from '../marketing/attribution-store';

/**
 * Batch recommendations (Personalize's "batch inference"): top-N for every
 * user of the model, or for one segment, streamed as CSV to
 * `exports/recommendations/<version>/…` for email tools. Users go through in
 * pages of 50 (one BatchGetItem each) and the CSV is uploaded as it is
 * produced, so memory stays flat whatever the number of users.
 */
export interface ExportOptions {
  readonly limit: number;
  /** A segment name (`S1`…); all users of the model when absent. */
  readonly segment?: string;
  readonly excludeSeen?: boolean;
  readonly policy?: ServingPolicy;
  /** A named filter every user's list must pass (its parameters bound). */
  readonly filter?: AppliedFilter;
  readonly onProgress?: (done: number, total: number) => void;
  readonly now?: () => Date;
}

export interface ExportResult {
  readonly key: string;
  readonly users: number;
  readonly rows: number;
}

export interface ExportDeps {
  readonly s3: S3Client;
  readonly dynamoDb: DynamoDBClient;
  readonly bucket: string;
  readonly tables: ServingTables;
}

const PAGE = 50;

/** The user ids of a segment, from the campaign CSV the training job wrote for it. */
async function segmentUsers(deps: ExportDeps, version: string, segment: string): Promise<string[]> {
  const key = `${DATA_LAKE_PREFIXES.exports}segments/${version}/${segment}.csv`;
  let text: string;
  try {
    const object = await deps.s3.send(new GetObjectCommand({ Bucket: deps.bucket, Key: key }));
    text = (await object.Body?.transformToString('utf8')) ?? '';
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') {
      throw new Error(`segment '${segment}' does not exist in model ${version} (no ${key})`);
    }
    throw error;
  }
  const table = parseCsvTable(text);
  return [...(table.values[table.columns.indexOf('user_id')] ?? [])];
}

/** Recent history, precomputed vectors and seen-sets of up to 50 users, in one BatchGetItem (retrying unprocessed keys). */
async function userStates(
  deps: ExportDeps,
  userIds: readonly string[],
  version: string,
): Promise<Map<string, UserState>> {
  const recent = new Map<string, RecentInteraction[]>();
  const vectors = new Map<string, Float32Array>();
  const seenSets = new Map<string, Set<number>>();
  let request: Record<string, { Keys: Record<string, AttributeValue>[]; ProjectionExpression?: string }> = {
    [deps.tables.users]: {
      Keys: userIds.map((userId) => ({ user_id: { S: userId } })),
      ProjectionExpression: 'user_id, recent',
    },
    [deps.tables.userVectors]: {
      Keys: userIds.map((userId) => ({ user_id: { S: userId }, model_version: { S: version } })),
      ProjectionExpression: 'user_id, vector, seen',
    },
  };
  await resendUntilProcessed(deps.dynamoDb, 'BatchGetItem', async () => {
    const response = await deps.dynamoDb.send(new BatchGetItemCommand({ RequestItems: request }));
    for (const item of response.Responses?.[deps.tables.users] ?? []) {
      recent.set(String(item.user_id?.S), decodeRecent(item.recent));
    }
    for (const item of response.Responses?.[deps.tables.userVectors] ?? []) {
      if (item.seen?.B) seenSets.set(String(item.user_id?.S), decodeItemSet(item.seen.B));
      const bytes = item.vector?.B;
      if (!bytes) continue;
      vectors.set(String(item.user_id?.S), float32FromBytes(bytes));
    }
    request = (response.UnprocessedKeys ?? {}) as typeof request;
    return Object.values(request).reduce((sum, table) => sum + table.Keys.length, 0);
  });
  return new Map(
    userIds.map((userId) => {
      const vector = vectors.get(userId);
      const seen = seenSets.get(userId);
      return [
        userId,
        {
          recent: recent.get(userId) ?? [],
          ...(vector ? { precomputed: vector } : {}),
          ...(seen ? { seen } : {}),
        },
      ];
    }),
  );
}

export async function exportRecommendations(
  deps: ExportDeps,
  model: ServedModel,
  options: ExportOptions,
): Promise<ExportResult> {
  const version = model.manifest.version;
  const users = options.segment
    ? await segmentUsers(deps, version, options.segment)
    : [...model.userIds.keys()];
  const filterPart = options.filter ? `-${options.filter.name}` : '';
  const key = `${DATA_LAKE_PREFIXES.exports}recommendations/${version}/${options.segment ?? 'all'}${filterPart}-top${options.limit}.csv`;
  const body = new PassThrough();
  const upload = new Upload({
    client: deps.s3,
    params: { Bucket: deps.bucket, Key: key, Body: body, ContentType: 'text/csv' },
  });
  const uploaded = upload.done();
  let rows = 0;
  const servedAt = Math.floor((options.now?.() ?? new Date()).getTime() / 1000);
  // Lists and items per strategy, counted for attribution in one write each once the export is uploaded.
  const served = new Map<string, { context: ServedContext; lists: number; items: number }>();
  try {
    body.write('user_id,rank,item_id,score,strategy,reason,recommendation_id\n');
    for (let start = 0; start < users.length; start += PAGE) {
      const page = users.slice(start, start + PAGE);
      const states = await userStates(deps, page, version);
      const lines: string[] = [];
      for (const userId of page) {
        const result = recommend(
          model,
          userId,
          states.get(userId) ?? { recent: [] },
          {
            limit: options.limit,
            excludeSeen: options.excludeSeen ?? true,
            ...(options.filter ? { filter: options.filter } : {}),
          },
          options.policy ?? DEFAULT_POLICY,
        );
        const context: ServedContext = {
          servedAt,
          surface: 'batch',
          strategy: result.strategy,
          ...(options.filter ? { filter: options.filter.name } : {}),
        };
        const id = recommendationId(context);
        const counted = served.get(result.strategy) ?? { context, lists: 0, items: 0 };
        counted.lists++;
        counted.items += result.items.length;
        served.set(result.strategy, counted);
        result.items.forEach((item, rank) => {
          lines.push(
            csvLine([userId, rank + 1, item.itemId, item.score, result.strategy, item.reason ?? '', id]),
          );
        });
      }
      rows += lines.length;
      // Respect backpressure: wait for the upload to drain before producing more.
      if (lines.length > 0 && !body.write(`${lines.join('\n')}\n`)) {
        await new Promise((resolve) => body.once('drain', resolve));
      }
      options.onProgress?.(Math.min(start + PAGE, users.length), users.length);
    }
    body.end();
    await uploaded;
    const table = { client: deps.dynamoDb, table: deps.tables.attribution };
    for (const { context, lists, items } of served.values())
      await recordServed(table, context, { lists, items });
  } catch (error) {
    body.destroy();
    await upload.abort().catch(() => undefined);
    throw error;
  }
  return { key, users: users.length, rows };
}
