import type { FirehoseClient } from '@aws-sdk/client-firehose';
import { firehoseClient } from '../../aws/firehose-client';
import { ENV } from '../../config/env-names';
import { traced } from '../../observability/tracing';
import {
  type ApiDeps,
  HttpError,
  json,
  jsonBody,
  makeApiHandler,
  parseInput,
  type RouteHandler,
} from '../api';
import { recordOutcomes } from '../../marketing/experiment-store';
import { decodeRecommendationId, outcomeOf } from '../../marketing/attribution';
import { recordAttributedOutcome } from '../../marketing/attribution-store';
import { outcomeDelta, type UserOutcome } from '../../marketing/experiments';
import type { ApiSettings } from '../container';
import {
  type CanonicalEvent,
  canonicalEvents,
  EventTimestampError,
  eventsBodySchemaFor,
  recordEvents,
  type ApiEvent,
} from '../events';

/** What the events function uses: no model; the delivery stream; outcome counting for experiments and attribution. */
export interface EventsDeps extends ApiDeps {
  readonly firehose: FirehoseClient;
  readonly eventsStream: string;
  readonly recordOutcomes: (
    experimentId: string,
    userId: string,
    delta: Pick<UserOutcome, 'clicks' | 'conversions' | 'revenue'>,
    at: Date,
  ) => Promise<boolean>;
  /** Adds an event's outcome to the list it names (false: already counted). */
  readonly attributeToRecommendation: (event: ApiEvent & { recommendationId: string }) => Promise<boolean>;
}

export function eventsDeps(base: ApiDeps, settings: ApiSettings): EventsDeps {
  const table = { client: base.dynamoDb, table: base.tables.experiments };
  if (!settings.eventsStream) {
    throw new Error(`the events function needs its delivery stream's name (${ENV.eventsStream})`);
  }
  return {
    ...base,
    // Locally the deployable's clients include one (pointed at the double); in Lambda, built here only.
    firehose: base.firehose ?? traced(firehoseClient()),
    eventsStream: settings.eventsStream,
    recordOutcomes: (experimentId, userId, delta, at) =>
      recordOutcomes(table, experimentId, userId, delta, at),
    attributeToRecommendation: async (event) => {
      const context = decodeRecommendationId(event.recommendationId);
      const outcome = outcomeOf({
        event_type: event.eventType,
        ...(event.value !== undefined ? { event_value: event.value } : {}),
      });
      if (!context || !outcome) return false;
      return recordAttributedOutcome(
        { client: base.dynamoDb, table: base.tables.attribution },
        event.recommendationId,
        context,
        event,
        outcome,
      );
    },
  };
}

/**
 * Adds each user's clicks, conversions and revenue to the experiments the user was exposed in — the set
 * the recommendations function notes on the user's record, read with the recent history (no registry read
 * per request; an experiment created a second ago is already there for a user it exposed).
 */
async function attributeToExperiments(
  deps: EventsDeps,
  events: readonly CanonicalEvent[],
  experimentsOf: ReadonlyMap<string, readonly string[]>,
): Promise<number> {
  // By user and event time: an outcome counts only inside the user's attribution window, by its own timestamp.
  const groups = new Map<string, CanonicalEvent[]>();
  for (const event of events) {
    const key = `${event.user_id}\u0000${event.timestamp}`;
    groups.set(key, [...(groups.get(key) ?? []), event]);
  }
  let attributed = 0;
  await Promise.all(
    [...groups.values()].flatMap((group) => {
      const { user_id: userId, timestamp } = group[0] as CanonicalEvent;
      const delta = outcomeDelta(group);
      if (delta.clicks + delta.conversions === 0) return [];
      return (experimentsOf.get(userId) ?? []).map(async (experimentId) => {
        if (await deps.recordOutcomes(experimentId, userId, delta, new Date(timestamp * 1000))) attributed++;
      });
    }),
  );
  return attributed;
}

/** Outcomes of events that name the list they came from, each counted once. */
async function attributeToRecommendations(deps: EventsDeps, events: readonly ApiEvent[]): Promise<number> {
  let attributed = 0;
  await Promise.all(
    events.map(async (event) => {
      if (event.recommendationId === undefined) return;
      if (await deps.attributeToRecommendation({ ...event, recommendationId: event.recommendationId }))
        attributed++;
    }),
  );
  return attributed;
}

/** POST /v1/events: one event or `{ events: [...] }` (up to 100) → 202. */
export const postEvents: RouteHandler<EventsDeps> = async (event, deps) => {
  const raw = jsonBody(event);
  const body = parseInput(eventsBodySchemaFor(raw), raw, 'body');
  const batched = 'events' in body;
  const events = batched ? body.events : [body];
  const now = deps.now?.() ?? new Date();
  let canonical;
  try {
    canonical = canonicalEvents(events, Math.floor(now.getTime() / 1000));
  } catch (error) {
    if (!(error instanceof EventTimestampError)) throw error;
    const field = batched ? `events[${error.index}].timestamp` : 'timestamp';
    throw new HttpError(400, 'validation_error', `body field '${field}' ${error.message}`, {
      field,
      in: 'body',
    });
  }
  const result = await recordEvents(
    {
      firehose: deps.firehose,
      eventsStream: deps.eventsStream,
      dynamoDb: deps.dynamoDb,
      usersTable: deps.tables.users,
    },
    canonical,
  );
  // Only events not recorded before count as outcomes: a retried request adds nothing.
  const attributed = await attributeToExperiments(deps, result.fresh, result.experiments);
  const recommendationOutcomes = await attributeToRecommendations(deps, events);
  return json(202, {
    accepted: result.accepted,
    users: result.users,
    ...(attributed > 0 ? { attributed } : {}),
    ...(recommendationOutcomes > 0 ? { recommendationOutcomes } : {}),
  });
};

/** The Lambda handler over the given dependencies: the Lambda entry point (functions/api/) passes its container's, the local API server its own. */
export const makeHandler = (depsFor: () => EventsDeps) => makeApiHandler('events', { postEvents }, depsFor);
