import { createHash, randomInt } from 'node:crypto';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { AttributionCounters, ServedContext } from './attribution';
import { contextKey } from './attribution';

/**
 * Attribution counters in DynamoDB: one item per (day, shard, context) with atomic ADDs. Writes pick one of
 * SHARDS partitions per day at random, so a busy day is not one hot key; a report queries every shard of
 * every day in its range. Each attributed outcome first writes a marker (recommendation, item, event type)
 * with a conditional put, so a retried event is counted once; the marker expires after MARKER_DAYS.
 * Operations are separate functions so each Lambda bundle carries only the commands its role is granted.
 */
export interface AttributionTable {
  readonly client: DynamoDBClient;
  readonly table: string;
}

export const SHARDS = 4;
/** How long after serving an event is still attributed to the list (and its duplicate marker kept). */
export const MARKER_DAYS = 30;

const COLUMNS: Record<keyof AttributionCounters, string> = {
  requests: 'requests',
  impressions: 'impressions',
  clicks: 'clicks',
  conversions: 'conversions',
  revenue: 'revenue',
  revenueSquares: 'revenue_sq',
};

export function dayOf(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().slice(0, 10);
}

async function addCounters(
  { client, table }: AttributionTable,
  context: ServedContext,
  counters: Partial<AttributionCounters>,
): Promise<void> {
  const entries = Object.entries(counters).filter(([, value]) => value !== undefined && value !== 0);
  if (entries.length === 0) return;
  await client.send(
    new UpdateItemCommand({
      TableName: table,
      Key: {
        bucket: { S: `${dayOf(context.servedAt)}#${randomInt(SHARDS)}` },
        context: { S: contextKey(context) },
      },
      UpdateExpression: `ADD ${entries.map((_, index) => `#c${index} :v${index}`).join(', ')}`,
      ExpressionAttributeNames: Object.fromEntries(
        entries.map(([key], index) => [`#c${index}`, COLUMNS[key as keyof AttributionCounters]]),
      ),
      ExpressionAttributeValues: Object.fromEntries(
        entries.map(([, value], index) => [`:v${index}`, { N: String(value) }]),
      ),
    }),
  );
}

/** Counts served lists and the items in them (one list per API response; a batch export's in one write). */
export function recordServed(
  table: AttributionTable,
  context: ServedContext,
  served: { readonly lists: number; readonly items: number },
): Promise<void> {
  return addCounters(table, context, { requests: served.lists, impressions: served.items });
}

/**
 * Adds an outcome to the list it came from, once per (recommendation, item, event type): returns false for
 * a repeat. If the counter update fails after the marker was written, the marker is removed again so the
 * client's retry counts it.
 */
export async function recordAttributedOutcome(
  table: AttributionTable,
  recommendationId: string,
  context: ServedContext,
  event: { readonly itemId: string; readonly eventType: string },
  outcome: Partial<AttributionCounters>,
): Promise<boolean> {
  const marker = {
    bucket: {
      S: `outcome#${createHash('sha256')
        .update(JSON.stringify([recommendationId, event.itemId, event.eventType]))
        .digest('hex')
        .slice(0, 40)}`,
    },
    context: { S: '-' },
  };
  try {
    await table.client.send(
      new PutItemCommand({
        TableName: table.table,
        Item: { ...marker, expires_at: { N: String(context.servedAt + MARKER_DAYS * 86_400) } },
        ConditionExpression: 'attribute_not_exists(#bucket)',
        ExpressionAttributeNames: { '#bucket': 'bucket' },
      }),
    );
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
  try {
    await addCounters(table, context, outcome);
  } catch (error) {
    await table.client
      .send(new DeleteItemCommand({ TableName: table.table, Key: marker }))
      .catch(() => undefined);
    throw error;
  }
  return true;
}

function decodeCounters(item: Record<string, AttributeValue>): Partial<AttributionCounters> {
  return Object.fromEntries(
    Object.entries(COLUMNS).map(([key, column]) => [key, Number(item[column]?.N ?? 0)]),
  ) as Partial<AttributionCounters>;
}

/** Every context's counters for the days from..to (inclusive, YYYY-MM-DD), all shards. */
export async function readCounters(
  { client, table }: AttributionTable,
  days: readonly string[],
): Promise<{ key: string; counters: Partial<AttributionCounters> }[]> {
  const buckets = days.flatMap((day) => Array.from({ length: SHARDS }, (_, shard) => `${day}#${shard}`));
  const rows: { key: string; counters: Partial<AttributionCounters> }[] = [];
  // A few queries at a time: a quarter's report is 368 small queries.
  for (let start = 0; start < buckets.length; start += 16) {
    await Promise.all(
      buckets.slice(start, start + 16).map(async (bucket) => {
        let from: Record<string, AttributeValue> | undefined;
        do {
          const page = await client.send(
            new QueryCommand({
              TableName: table,
              KeyConditionExpression: '#bucket = :bucket',
              ExpressionAttributeNames: { '#bucket': 'bucket' },
              ExpressionAttributeValues: { ':bucket': { S: bucket } },
              ...(from ? { ExclusiveStartKey: from } : {}),
            }),
          );
          for (const item of page.Items ?? []) {
            rows.push({ key: item.context?.S ?? '', counters: decodeCounters(item) });
          }
          from = page.LastEvaluatedKey;
        } while (from);
      }),
    );
  }
  return rows;
}
