import { z } from 'zod';
import { dynamoDbClient, s3Client } from '../aws/clients';
import { readEnv, requiredString } from '../config/env';
import { ENV } from '../config/env-names';
import { createLogger } from '../observability/logger';
import type { ApiDeps } from './api';
import { ExperimentStore } from '../marketing/experiment-store';
import { ExperimentDirectory } from './experiment-directory';
import { ModelStore, s3ModelSource } from './model-store';
import type { ServingPolicy } from './recommender';
import type { ApiFunction } from './routes';

/** `view,add_to_cart` → that set; `*` or empty → every event type. */
export function parseExcludedEventTypes(raw: string | undefined): ServingPolicy['excludeEventTypes'] {
  const types = (raw ?? '*')
    .split(',')
    .map((type) => type.trim())
    .filter(Boolean);
  return types.length === 0 || types.includes('*') ? 'all' : new Set(types);
}

const containers = new Map<ApiFunction, ApiDeps>();

/**
 * The API function's dependencies from its environment, built once per
 * container. The model starts loading at once, during Lambda's init phase,
 * so the first request rarely waits for S3.
 */
export function containerApiDeps(fn: ApiFunction, source: NodeJS.ProcessEnv = process.env): ApiDeps {
  let deps = containers.get(fn);
  if (!deps) {
    const env = readEnv(
      {
        [ENV.dataBucket]: requiredString,
        [ENV.usersTable]: requiredString,
        [ENV.userVectorsTable]: requiredString,
        [ENV.experimentsTable]: requiredString,
        [ENV.modelRecheckSeconds]: z.coerce.number().min(1).max(86_400).default(60),
        [ENV.excludeSeenEventTypes]: z.string().optional(),
        [ENV.corsOrigin]: z.string().optional(),
      },
      source,
    );
    const log = createLogger({ service: `mappa-api-${fn}` });
    const s3 = s3Client();
    const dynamoDb = dynamoDbClient();
    const models = new ModelStore(
      s3ModelSource(s3, env[ENV.dataBucket]),
      env[ENV.modelRecheckSeconds] * 1000,
      Date.now,
      (error) => log.error('model load failed; keeping the current model', { error }),
    );
    deps = {
      s3,
      dynamoDb,
      bucket: env[ENV.dataBucket],
      tables: {
        users: env[ENV.usersTable],
        userVectors: env[ENV.userVectorsTable],
        experiments: env[ENV.experimentsTable],
      },
      models,
      // The events path reads the running list on every request: an exposure made a
      // second after an experiment started must still get its conversions.
      experiments: new ExperimentDirectory(
        new ExperimentStore(dynamoDb, env[ENV.experimentsTable]),
        fn === 'events' ? 0 : 60_000,
      ),
      policy: { excludeEventTypes: parseExcludedEventTypes(env[ENV.excludeSeenEventTypes]) },
      log,
      ...(env[ENV.corsOrigin] ? { corsOrigin: env[ENV.corsOrigin] } : {}),
    };
    containers.set(fn, deps);
    if (fn !== 'events') void models.current();
  }
  return deps;
}
