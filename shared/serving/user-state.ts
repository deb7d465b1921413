import {
  type AttributeValue,
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { float32FromBytes } from '../data/binary';
import { decodeItemSet } from '../data/item-set';
import { fromAttributeValue, toAttributeValue } from '../feature-store/attribute-values';
import { mergeRecent, type RecentInteraction, recentKey } from '../feature-store/features';
import type { Logger } from '../observability/logger';
import type { UserState } from './recommender';
import { retryOnConflict } from '../aws/retry';

/**
 * The serving side of the feature store: one user's recent history (users
 * table) and precomputed vector (user-vectors table), and the API's immediate
 * update of that history when events are posted.
 */
export interface ServingTables {
  readonly users: string;
  readonly userVectors: string;
  readonly experiments: string;
  readonly filters: string;
  readonly attribution: string;
  readonly ledger: string;
  readonly items: string;
}

/** Errors that mean "DynamoDB is busy or away right now", not "the request is wrong". */
const TRANSIENT = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TimeoutError',
  'ECONNREFUSED',
  'ECONNRESET',
]);

export function isTransientDynamoDbError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as Error & { code?: string }).code;
  return TRANSIENT.has(error.name) || (code !== undefined && TRANSIENT.has(code));
}

/** A user's stored `recent` list, keeping only well-formed entries. */
export function decodeRecent(value: AttributeValue | undefined): RecentInteraction[] {
  if (!value) return [];
  const list = fromAttributeValue(value);
  if (!Array.isArray(list)) return [];
  return list.flatMap((entry) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return [];
    const { item_id, timestamp, event_type, event_value } = entry;
    if (typeof item_id !== 'string' || typeof timestamp !== 'number') return [];
    const type = typeof event_type === 'string' ? event_type : 'interaction';
    return [
      typeof event_value === 'number'
        ? { item_id, timestamp, event_type: type, event_value }
        : { item_id, timestamp, event_type: type },
    ];
  });
}

/**
 * Reads what serving needs of one user. Both reads run in parallel; the users
 * read is strongly consistent so an event posted a moment ago is seen. When
 * DynamoDB is throttling or unavailable the state says so, and the caller
 * serves a non-personal fallback instead of failing the request.
 */
export async function readUserState(
  client: DynamoDBClient,
  tables: ServingTables,
  userId: string,
  modelVersion: string,
  log?: Logger,
): Promise<UserState> {
  try {
    // One round trip for both tables.
    const response = await client.send(
      new BatchGetItemCommand({
        RequestItems: {
          [tables.users]: {
            Keys: [{ user_id: { S: userId } }],
            ProjectionExpression: '#user, #recent',
            ExpressionAttributeNames: { '#user': 'user_id', '#recent': 'recent' },
            ConsistentRead: true,
          },
          [tables.userVectors]: {
            Keys: [{ user_id: { S: userId }, model_version: { S: modelVersion } }],
            ProjectionExpression: 'vector, seen',
          },
        },
      }),
    );
    if (Object.keys(response.UnprocessedKeys ?? {}).length > 0) {
      throw Object.assign(new Error('DynamoDB left keys unprocessed'), {
        name: 'ProvisionedThroughputExceededException',
      });
    }
    const user = { Item: response.Responses?.[tables.users]?.[0] };
    const vector = { Item: response.Responses?.[tables.userVectors]?.[0] };
    const bytes = vector.Item?.vector?.B;
    const precomputed = bytes && bytes.byteLength % 4 === 0 ? float32FromBytes(bytes) : undefined;
    const seen = vector.Item?.seen?.B;
    return {
      recent: decodeRecent(user.Item?.recent),
      ...(precomputed ? { precomputed } : {}),
      ...(seen ? { seen: decodeItemSet(seen) } : {}),
    };
  } catch (error) {
    if (!isTransientDynamoDbError(error)) throw error;
    log?.warn('feature store unavailable; serving the fallback', { error });
    return { recent: [], unavailable: true };
  }
}

/**
 * Adds interactions to a user's `recent` list at once (exclude-seen and the
 * sequence vector see them on the next call). Only `recent` and `version` are
 * written, under the same optimistic lock ingestion uses, so a concurrent
 * ingestion retries and keeps these; aggregates (counts, RFM) follow when the
 * staged events file is ingested. Re-posting the same events changes nothing.
 */
/**
 * Adds the events to the user's `recent` list. Returns the experiments the user has been exposed in (the
 * set the recommendations function keeps on the same item), so their outcomes go to exactly those, and the
 * events that were not in the list already — a retried request's events are not, and count nothing twice.
 */
export async function appendRecentInteractions(
  client: DynamoDBClient,
  usersTable: string,
  userId: string,
  interactions: readonly RecentInteraction[],
): Promise<{ experiments: string[]; fresh: RecentInteraction[] }> {
  let experiments: string[] = [];
  let fresh: RecentInteraction[] = [];
  await retryOnConflict(
    `updating recent interactions of user '${userId}'`,
    async () => {
      const stored = await client.send(
        new GetItemCommand({
          TableName: usersTable,
          Key: { user_id: { S: userId } },
          ProjectionExpression: '#recent, #version, #experiments',
          ExpressionAttributeNames: {
            '#recent': 'recent',
            '#version': 'version',
            '#experiments': 'experiments',
          },
          ConsistentRead: true,
        }),
      );
      experiments = stored.Item?.experiments?.SS ?? [];
      const recent = decodeRecent(stored.Item?.recent);
      const known = new Set(recent.map(recentKey));
      fresh = [
        ...new Map(interactions.map((interaction) => [recentKey(interaction), interaction])).values(),
      ].filter((interaction) => !known.has(recentKey(interaction)));
      const merged = mergeRecent(recent, interactions);
      if (JSON.stringify(merged) === JSON.stringify(recent)) return true;
      const version = stored.Item?.version?.N;
      try {
        await client.send(
          new UpdateItemCommand({
            TableName: usersTable,
            Key: { user_id: { S: userId } },
            UpdateExpression: 'SET #recent = :recent, #version = :next',
            ConditionExpression:
              version === undefined ? 'attribute_not_exists(#version)' : '#version = :expected',
            ExpressionAttributeNames: { '#recent': 'recent', '#version': 'version' },
            ExpressionAttributeValues: {
              ':recent': toAttributeValue(merged),
              ':next': { N: String(Number(version ?? 0) + 1) },
              ...(version === undefined ? {} : { ':expected': { N: version } }),
            },
          }),
        );
        return true;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        return false;
      }
    },
    8,
  );
  return { experiments, fresh };
}

/**
 * Notes on the user's feature record that they were exposed in an experiment: the events path then knows
 * which experiments a user's outcomes belong to without reading the registry. The version moves too, so an
 * ingestion writing the record at the same moment re-reads it instead of dropping the set.
 */
export async function noteExperimentExposure(
  client: DynamoDBClient,
  usersTable: string,
  userId: string,
  experimentId: string,
): Promise<void> {
  await client.send(
    new UpdateItemCommand({
      TableName: usersTable,
      Key: { user_id: { S: userId } },
      UpdateExpression: 'ADD #experiments :experiment, #version :one',
      ExpressionAttributeNames: { '#experiments': 'experiments', '#version': 'version' },
      ExpressionAttributeValues: { ':experiment': { SS: [experimentId] }, ':one': { N: '1' } },
    }),
  );
}

/** What the training job scored for the user in this model version: segment and propensities. */
export interface UserScores {
  readonly segment?: number;
  readonly propensity: Record<string, { probability: number; decile: number }>;
  /** Per running experiment at training time: predicted uplift and its decile (1 = contact first). */
  readonly uplift: Record<string, { value: number; decile: number }>;
}

export async function readUserScores(
  client: DynamoDBClient,
  userVectorsTable: string,
  userId: string,
  modelVersion: string,
): Promise<UserScores | undefined> {
  const response = await client.send(
    new GetItemCommand({
      TableName: userVectorsTable,
      Key: { user_id: { S: userId }, model_version: { S: modelVersion } },
    }),
  );
  const item = response.Item;
  if (!item) return undefined;
  const propensity: UserScores['propensity'] = {};
  for (const [name, value] of Object.entries(item)) {
    const match = /^propensity_([a-z_]+?)(_decile)?$/.exec(name);
    if (!match || value.N === undefined) continue;
    const target = match[1] as string;
    const entry = (propensity[target] ??= { probability: Number.NaN, decile: 0 });
    if (match[2]) entry.decile = Number(value.N);
    else entry.probability = Number(value.N);
  }
  const uplift: UserScores['uplift'] = Object.fromEntries(
    Object.entries(item.uplift?.M ?? {}).map(([experimentId, value]) => [
      experimentId,
      { value: Number(value.M?.value?.N ?? Number.NaN), decile: Number(value.M?.decile?.N ?? 0) },
    ]),
  );
  return {
    ...(item.segment?.N !== undefined ? { segment: Number(item.segment.N) } : {}),
    propensity,
    uplift,
  };
}
