import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type FirehoseClient, PutRecordCommand } from '@aws-sdk/client-firehose';
import * as z from '../data/schema';
import type { RecentInteraction } from '../feature-store/features';
import { EARLIEST_TIMESTAMP, FUTURE_SKEW_SECONDS } from '../ingest/rules';
import { idSchema } from './schemas';
import { appendRecentInteractions } from './user-state';
import { decodeRecommendationId, MAX_RECOMMENDATION_ID_LENGTH } from '../marketing/attribution';

/** Events posted to `POST /v1/events`: validated, applied to `recent` at once, delivered for ingestion. */
export const MAX_EVENTS_PER_REQUEST = 100;

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

/** A request's events as the JSON Lines Firehose concatenates into the drop-folder file (one record). */
export function eventsRecord(events: readonly CanonicalEvent[]): string {
  return `${events.map((event) => JSON.stringify(event)).join('\n')}\n`;
}

export interface EventDeps {
  readonly firehose: FirehoseClient;
  /** The delivery stream into `incoming/interactions/api-events/`. */
  readonly eventsStream: string;
  readonly dynamoDb: DynamoDBClient;
  readonly usersTable: string;
}

/**
 * Applies events: each user's `recent` list is updated at once, and the request's events go to the
 * delivery stream as one record (Firehose bills records in 5 KiB steps: one per request, not per event).
 * A client retrying after an error is safe: `recent` keeps each event once, and a record delivered twice
 * reaches ingestion as duplicate rows, which it counts and drops.
 */
export async function recordEvents(
  deps: EventDeps,
  events: readonly CanonicalEvent[],
): Promise<{
  accepted: number;
  users: number;
  /** Per user, the experiments they were exposed in. */
  experiments: Map<string, string[]>;
  /** The events not recorded before (a retried request's are): the ones outcomes may count. */
  fresh: CanonicalEvent[];
}> {
  const record = eventsRecord(events);
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
    deps.firehose.send(
      new PutRecordCommand({
        DeliveryStreamName: deps.eventsStream,
        Record: { Data: Buffer.from(record, 'utf8') },
      }),
    ),
    ...[...byUser].map(async ([userId, interactions]) => {
      const appended = await appendRecentInteractions(deps.dynamoDb, deps.usersTable, userId, interactions);
      experiments.set(userId, appended.experiments);
      for (const interaction of appended.fresh) fresh.push({ user_id: userId, ...interaction });
    }),
  ]);
  return { accepted: events.length, users: byUser.size, experiments, fresh };
}
