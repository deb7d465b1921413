import { createHash } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import * as z from '../data/schema';
import type { RecentInteraction } from '../feature-store/features';
import { EARLIEST_TIMESTAMP, FUTURE_SKEW_SECONDS } from '../ingest/rules';
import { DATA_LAKE_PREFIXES } from '../resources/definitions';
import { idSchema } from './schemas';
import { appendRecentInteractions } from './user-state';
import { decodeRecommendationId, MAX_RECOMMENDATION_ID_LENGTH } from '../marketing/attribution';

/** Events posted to `POST /v1/events`: validated, applied to `recent` at once, staged for ingestion. */
export const MAX_EVENTS_PER_REQUEST = 100;
export const EVENTS_STAGING_PREFIX = `${DATA_LAKE_PREFIXES.staging}events/`;

export const eventSchema = z.strictObject({
  userId: idSchema,
  itemId: idSchema,
  eventType: z
    .string()
    .check(
      z.regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1-64 letters, digits, or _ . : -'),
      z.describe('view, add_to_cart and purchase have built-in meaning'),
    ),
  timestamp: z
    .optional(
      z.union([
        z.number().check(z.nonnegative(), z.describe('Unix seconds or milliseconds')),
        z.iso.datetime({ offset: true }),
      ]),
    )
    .check(z.describe("The server's time when absent; send it to make retries idempotent")),
  value: z.optional(
    z
      .number()
      .check(z.minimum(0), z.maximum(10_000_000), z.describe('Revenue for purchases, cart value, rating')),
  ),
  recommendationId: z.optional(
    z.string().check(
      z.maxLength(MAX_RECOMMENDATION_ID_LENGTH),
      z.refine((id) => decodeRecommendationId(id) !== undefined, {
        error: 'is not a recommendationId this API returned',
      }),
      z.describe(
        'The recommendationId of the list the event came from: views and clicks count as its clicks, purchases as its conversions and revenue (once per list, item and event type) in GET /v1/attribution',
      ),
    ),
  ),
});

export const eventBatchSchema = z.strictObject({
  events: z
    .array(eventSchema)
    .check(
      z.minLength(1, 'must hold at least one event'),
      z.maxLength(MAX_EVENTS_PER_REQUEST, `must hold at most ${MAX_EVENTS_PER_REQUEST} events`),
    ),
});

/** A body with an `events` key is a batch, anything else one event; each gets its own precise errors. */
export function eventsBodySchemaFor(body: unknown): typeof eventSchema | typeof eventBatchSchema {
  return typeof body === 'object' && body !== null && 'events' in body ? eventBatchSchema : eventSchema;
}

export type ApiEvent = z.output<typeof eventSchema>;

/** One event in the drop folder's canonical interactions columns. */
export interface CanonicalEvent {
  readonly user_id: string;
  readonly item_id: string;
  readonly timestamp: number;
  readonly event_type: string;
  readonly event_value?: number;
}

export class EventTimestampError extends Error {
  constructor(
    readonly index: number,
    message: string,
  ) {
    super(message);
    this.name = 'EventTimestampError';
  }
}

/** Unix seconds, after the same plausibility rules ingestion applies. */
export function eventTimestamp(value: ApiEvent['timestamp'], nowSeconds: number, index: number): number {
  let seconds: number;
  if (value === undefined) seconds = nowSeconds;
  else if (typeof value === 'string') seconds = Date.parse(value) / 1000;
  else seconds = value > 100_000_000_000 ? value / 1000 : value; // milliseconds beyond year 5138 in seconds
  seconds = Math.floor(seconds);
  if (seconds < EARLIEST_TIMESTAMP) throw new EventTimestampError(index, 'is before 1990-01-01');
  if (seconds > nowSeconds + FUTURE_SKEW_SECONDS) throw new EventTimestampError(index, 'is in the future');
  return seconds;
}

export function canonicalEvents(events: readonly ApiEvent[], nowSeconds: number): CanonicalEvent[] {
  return events.map((event, index) => ({
    user_id: event.userId.trim(),
    item_id: event.itemId.trim(),
    timestamp: eventTimestamp(event.timestamp, nowSeconds, index),
    event_type: event.eventType,
    ...(event.value !== undefined ? { event_value: event.value } : {}),
  }));
}

/** Deterministic from the content, so a retried request overwrites its own staged object. */
export function stagedEventsKey(body: string, now: Date): string {
  const day = now.toISOString().slice(0, 10).replace(/-/g, '/');
  const digest = createHash('sha256').update(body).digest('hex').slice(0, 32);
  return `${EVENTS_STAGING_PREFIX}${day}/${digest}.jsonl`;
}

export interface EventDeps {
  readonly s3: S3Client;
  readonly dynamoDb: DynamoDBClient;
  readonly bucket: string;
  readonly usersTable: string;
}

/**
 * Applies events: each user's `recent` list is updated at once, and the batch is
 * staged as one JSON Lines object for the compactor to move into the drop folder.
 * Both steps are idempotent, so a client retrying after an error is safe.
 */
export async function recordEvents(
  deps: EventDeps,
  events: readonly CanonicalEvent[],
  now: Date,
): Promise<{
  accepted: number;
  users: number;
  stagedKey: string;
  /** Per user, the experiments they were exposed in. */
  experiments: Map<string, string[]>;
  /** The events not recorded before (a retried request's are): the ones outcomes may count. */
  fresh: CanonicalEvent[];
}> {
  const body = `${events.map((event) => JSON.stringify(event)).join('\n')}\n`;
  const stagedKey = stagedEventsKey(body, now);
  const byUser = new Map<string, RecentInteraction[]>();
  for (const { user_id, item_id, timestamp, event_type, event_value } of events) {
    const list = byUser.get(user_id) ?? [];
    list.push(
      event_value === undefined
        ? { item_id, timestamp, event_type }
        : { item_id, timestamp, event_type, event_value },
    );
    byUser.set(user_id, list);
  }
  const experiments = new Map<string, string[]>();
  const fresh: CanonicalEvent[] = [];
  await Promise.all([
    deps.s3.send(
      new PutObjectCommand({
        Bucket: deps.bucket,
        Key: stagedKey,
        Body: body,
        ContentType: 'application/x-ndjson',
      }),
    ),
    ...[...byUser].map(async ([userId, interactions]) => {
      const appended = await appendRecentInteractions(deps.dynamoDb, deps.usersTable, userId, interactions);
      experiments.set(userId, appended.experiments);
      for (const interaction of appended.fresh) fresh.push({ user_id: userId, ...interaction });
    }),
  ]);
  return { accepted: events.length, users: byUser.size, stagedKey, experiments, fresh };
}
