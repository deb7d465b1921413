import {
  type ApiDeps,
  HttpError,
  json,
  jsonBody,
  makeApiHandler,
  parseInput,
  type RouteHandler,
} from '../../shared/serving/api';
import { containerApiDeps } from '../../shared/serving/container';
import {
  canonicalEvents,
  EventTimestampError,
  eventsBodySchemaFor,
  recordEvents,
} from '../../shared/serving/events';

/** POST /v1/events: one event or `{ events: [...] }` (up to 100) → 202. */
export const postEvents: RouteHandler = async (event, deps) => {
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
    { s3: deps.s3, dynamoDb: deps.dynamoDb, bucket: deps.bucket, usersTable: deps.tables.users },
    canonical,
    now,
  );
  return json(202, { accepted: result.accepted, users: result.users });
};

/** The Lambda handler over the given dependencies (the local API server passes its own). */
export const makeHandler = (depsFor: () => ApiDeps) => makeApiHandler('events', { postEvents }, depsFor);

export const handler = makeHandler(() => containerApiDeps('events'));
