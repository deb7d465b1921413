import { makeHandler } from '../ingest/preprocess-handler';
import { ingestionDeps } from '../ingest/drop-folder';
import type { IngestionDeps } from '../ingest/ingestion-types';
import { createLogger, type Logger } from '../observability/logger';
import type { EmbeddedStack } from './embedded-stack';
import { localLambdaContext } from './lambda-context';

/**
 * Wires the real preprocess Lambda handler to the local stack's drop folder,
 * as the CDK app wires it to the S3 notification in AWS.
 */
export function registerPreprocessHandler(
  stack: EmbeddedStack,
  options: Partial<Omit<IngestionDeps, 'featureStore' | 'ledger' | 's3' | 'bucket'>> & { log?: Logger } = {},
): { deps: IngestionDeps; unregister: () => void } {
  const clients = stack.clientsFor('preprocess');
  const deps = ingestionDeps(
    {
      s3: clients.s3,
      bucket: stack.names.dataBucket,
      log: options.log ?? createLogger({ service: 'mappa-preprocess' }),
      ...options,
    },
    clients.dynamoDb,
    stack.names.tables,
  );
  const handler = makeHandler((context) => ({
    ...deps,
    remainingTimeMs: options.remainingTimeMs ?? (() => context.getRemainingTimeInMillis()),
  }));
  const unregister = stack.onDropFolder((event) => handler(event, localLambdaContext('mappa-preprocess')));
  return { deps, unregister };
}
