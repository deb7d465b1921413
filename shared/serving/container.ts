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

/** What differs between a Lambda container and the local server; the rest is built the same way. */
export interface ApiDepsInputs extends Pick<
  ApiDeps,
  's3' | 'dynamoDb' | 'bucket' | 'tables' | 'policy' | 'log'
> {
  readonly modelRecheckMs: number;
  /** How long experiment definitions and the running list are cached (the events function never caches the list). */
  readonly experimentsCacheMs: number;
  readonly corsOrigin?: string;
  readonly now?: () => Date;
  readonly writeMetrics?: (line: string) => void;
}

/** One API function's dependencies: its own model store and experiment directory over the given clients. */
export function buildApiDeps(fn: ApiFunction, inputs: ApiDepsInputs): ApiDeps {
  const { modelRecheckMs, experimentsCacheMs, ...rest } = inputs;
  const models = new ModelStore(s3ModelSource(inputs.s3, inputs.bucket), modelRecheckMs, Date.now, (error) =>
    inputs.log.error('model load failed; keeping the current model', { error }),
  );
  return {
    ...rest,
    models,
    // The events path reads the running list on every request: an exposure made a
    // second after an experiment started must still get its conversions.
    experiments: new ExperimentDirectory(
      new ExperimentStore(inputs.dynamoDb, inputs.tables.experiments),
      fn === 'events' ? 0 : experimentsCacheMs,
    ),
  };
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
    deps = buildApiDeps(fn, {
      s3: s3Client(),
      dynamoDb: dynamoDbClient(),
      bucket: env[ENV.dataBucket],
      tables: {
        users: env[ENV.usersTable],
        userVectors: env[ENV.userVectorsTable],
        experiments: env[ENV.experimentsTable],
      },
      log: createLogger({ service: `mappa-api-${fn}` }),
      modelRecheckMs: env[ENV.modelRecheckSeconds] * 1000,
      experimentsCacheMs: 60_000,
      policy: { excludeEventTypes: parseExcludedEventTypes(env[ENV.excludeSeenEventTypes]) },
      ...(env[ENV.corsOrigin] ? { corsOrigin: env[ENV.corsOrigin] } : {}),
    });
    containers.set(fn, deps);
    if (fn !== 'events') void deps.models.current();
  }
  return deps;
}
