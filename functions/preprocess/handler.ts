import { dynamoDbClient, s3Client } from '../../shared/aws/clients';
import { readEnv, requiredString } from '../../shared/config/env';
import { ENV } from '../../shared/config/env-names';
import { ingestionDeps } from '../../shared/ingest/drop-folder';
import type { IngestionDeps } from '../../shared/ingest/ingestion-types';
import { createLogger } from '../../shared/observability/logger';
import { makeHandler } from '../../shared/ingest/preprocess-handler';
import { traced } from '../../shared/observability/tracing';

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
      {
        s3: traced(s3Client()),
        bucket: env[ENV.dataBucket],
        log: createLogger({ service: 'mappa-preprocess' }),
      },
      traced(dynamoDbClient()),
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

/** The preprocess Lambda's entry point: the drop-folder handler over dependencies from its environment. */
export const handler = makeHandler((context) => ({
  ...containerDeps(),
  log: containerDeps().log.child({ requestId: context.awsRequestId }),
  remainingTimeMs: () => context.getRemainingTimeInMillis(),
}));
