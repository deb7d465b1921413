import middy from '@middy/core';
import type { Context, S3Event } from 'aws-lambda';
import { tracedInvocation } from '../observability/tracing';
import { handleDropFolderRecord, type RecordOutcome } from './drop-folder';
import type { IngestionDeps } from './ingestion-types';

/**
 * S3 ObjectCreated (incoming/<dataset>/…) → preprocessing. Thin: decode the
 * event, hand each record to the ingestion domain module. A thrown error makes
 * Lambda retry the event (then the on-failure DLQ); ingestion is idempotent per
 * object version, so a retry never double-applies.
 */
export type DepsFactory = (context: Context) => IngestionDeps;

export function makeHandler(depsFor: DepsFactory) {
  return middy(async (event: S3Event, context: Context): Promise<{ outcomes: RecordOutcome[] }> => {
    const deps = depsFor(context);
    deps.log.powertools.addContext(context);
    const outcomes: RecordOutcome[] = [];
    for (const record of event.Records) outcomes.push(await handleDropFolderRecord(deps, record));
    return { outcomes };
  }).use(tracedInvocation());
}
