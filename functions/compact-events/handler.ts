import middy from '@middy/core';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { s3Client } from '../../shared/aws/clients';
import { readEnv, requiredString } from '../../shared/config/env';
import { ENV } from '../../shared/config/env-names';
import { createLogger } from '../../shared/observability/logger';
import { traced, tracedInvocation } from '../../shared/observability/tracing';
import { type CompactionResult, compactStagedEvents } from '../../shared/serving/event-compactor';

/**
 * Scheduled (every few minutes): moves events staged by `POST /v1/events` into
 * the drop folder as one file, which triggers preprocessing like any upload.
 * Overlapping runs are harmless: both write the same hash-named file.
 */
let bucket: string | undefined;
const log = createLogger({ service: 'mappa-compact-events' });
const s3 = traced(s3Client());

export const handler = middy(async (_event: ScheduledEvent, context: Context): Promise<CompactionResult> => {
  bucket ??= readEnv({ [ENV.dataBucket]: requiredString })[ENV.dataBucket];
  log.powertools.addContext(context);
  // Batches until staging is empty, leaving a minute of the timeout for the batch in flight.
  return compactStagedEvents(s3, bucket, { log, budgetMs: context.getRemainingTimeInMillis() - 60_000 });
}).use(tracedInvocation());
