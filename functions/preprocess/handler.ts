import middy from '@middy/core';
import type { Context, S3Event } from 'aws-lambda';
import { dynamoDbClient, s3Client } from '../../shared/aws/clients';
import { readEnv, requiredString } from '../../shared/config/env';
import { ENV } from '../../shared/config/env-names';
import { handleDropFolderRecord, ingestionDeps, type RecordOutcome } from '../../shared/ingest/drop-folder';
import type { IngestionDeps } from '../../shared/ingest/ingest-object';
import { createLogger } from '../../shared/observability/logger';

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
    const outcomes: RecordOutcome[] = [];
    for (const record of event.Records) outcomes.push(await handleDropFolderRecord(deps, record));
    return { outcomes };
  });
}

let base: Omit<IngestionDeps, 'remainingTimeMs'> | undefined;

/** Built once per container: env, clients, logger. */
function containerDeps(): Omit<IngestionDeps, 'remainingTimeMs'> {
  if (!base) {
    const env = readEnv({
      [ENV.dataBucket]: requiredString,
      [ENV.usersTable]: requiredString,
      [ENV.itemsTable]: requiredString,
      [ENV.datasetStatsTable]: requiredString,
      [ENV.ledgerTable]: requiredString,
    });
    base = ingestionDeps(
      { s3: s3Client(), bucket: env[ENV.dataBucket], log: createLogger({ service: 'mappa-preprocess' }) },
      dynamoDbClient(),
      {
        users: env[ENV.usersTable],
        items: env[ENV.itemsTable],
        datasetStats: env[ENV.datasetStatsTable],
        ledger: env[ENV.ledgerTable],
      },
    );
  }
  return base;
}

export const handler = makeHandler((context) => ({
  ...containerDeps(),
  log: containerDeps().log.child({ requestId: context.awsRequestId }),
  remainingTimeMs: () => context.getRemainingTimeInMillis(),
}));
