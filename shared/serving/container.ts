import * as z from '../data/schema';
import { dynamoDbClient, s3Client } from '../aws/clients';
import { readEnv, requiredString } from '../config/env';
import { ENV } from '../config/env-names';
import { createLogger } from '../observability/logger';
import { traced } from '../observability/tracing';
import type { ApiDeps } from './api';
import { type ManifestOnly, type ModelSource, ModelStore } from './model-store';
import type { ApiFunction } from './routes';
import { parseExcludedEventTypes } from './seen-policy';

/** Settings of the per-function parts (from the environment in Lambda, from options locally). */
export interface ApiSettings {
  /** How often the model store re-checks the manifest. */
  readonly modelRecheckMs: number;
  /** How long a named filter is cached: a deleted filter stops applying within this time. */
  readonly filtersCacheMs: number;
  /** Personalize's campaign settings: share of slots for new items, and how new an item must be. */
  readonly exploration: { readonly weight: number; readonly itemAgeCutoffDays: number };
  /** The Firehose stream events are delivered through (the events function's only). */
  readonly eventsStream?: string;
}

/** Builds one API function's dependencies from the common frame: what its own routes use, nothing else. */
export type ApiDepsBuilder<D extends ApiDeps> = (base: ApiDeps, settings: ApiSettings) => D;

/** A model store over the function's S3 client: `source` picks what of a version it loads. */
export function modelStore<M extends ManifestOnly>(
  base: ApiDeps,
  settings: ApiSettings,
  source: (s3: ApiDeps['s3'], bucket: string) => ModelSource<M>,
): ModelStore<M> {
  return new ModelStore(source(base.s3, base.bucket), settings.modelRecheckMs, Date.now, (error) =>
    base.log.error('model load failed; keeping the current model', { error }),
  );
}

/** The frame every API function shares, read from its Lambda environment. */
export function containerBase(
  fn: ApiFunction,
  source: NodeJS.ProcessEnv = process.env,
): { base: ApiDeps; settings: ApiSettings } {
  const env = readEnv(
    {
      [ENV.dataBucket]: requiredString,
      [ENV.usersTable]: requiredString,
      [ENV.userVectorsTable]: requiredString,
      [ENV.experimentsTable]: requiredString,
      [ENV.filtersTable]: requiredString,
      [ENV.attributionTable]: requiredString,
      [ENV.ledgerTable]: requiredString,
      [ENV.itemsTable]: requiredString,
      [ENV.explorationWeight]: z._default(z.coerce.number().check(z.minimum(0), z.maximum(1)), 0.3),
      [ENV.explorationItemAgeCutoffDays]: z._default(
        z.coerce.number().check(z.minimum(1), z.maximum(30)),
        30,
      ),
      [ENV.modelRecheckSeconds]: z._default(z.coerce.number().check(z.minimum(1), z.maximum(86_400)), 60),
      [ENV.excludeSeenEventTypes]: z.optional(z.string()),
      [ENV.corsOrigins]: z.optional(z.string()),
      [ENV.eventsStream]: z.optional(z.string()),
    },
    source,
  );
  return {
    base: {
      s3: traced(s3Client()),
      dynamoDb: traced(dynamoDbClient()),
      bucket: env[ENV.dataBucket],
      tables: {
        users: env[ENV.usersTable],
        userVectors: env[ENV.userVectorsTable],
        experiments: env[ENV.experimentsTable],
        filters: env[ENV.filtersTable],
        attribution: env[ENV.attributionTable],
        ledger: env[ENV.ledgerTable],
        items: env[ENV.itemsTable],
      },
      log: createLogger({ service: `mappa-api-${fn}` }),
      policy: { excludeEventTypes: parseExcludedEventTypes(env[ENV.excludeSeenEventTypes]) },
      corsOrigins: parseCorsOrigins(env[ENV.corsOrigins]),
    },
    settings: {
      modelRecheckMs: env[ENV.modelRecheckSeconds] * 1000,
      filtersCacheMs: 60_000,
      exploration: {
        weight: env[ENV.explorationWeight],
        itemAgeCutoffDays: env[ENV.explorationItemAgeCutoffDays],
      },
      ...(env[ENV.eventsStream] ? { eventsStream: env[ENV.eventsStream] } : {}),
    },
  };
}

/** The comma-separated origins of the function's environment. */
export function parseCorsOrigins(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
}

/** The model store of a function whose routes serve a model; none for the others. */
export function modelStoreOf(deps: ApiDeps): ModelStore<ManifestOnly> | undefined {
  const models = (deps as { models?: unknown }).models;
  return models instanceof ModelStore ? models : undefined;
}

/** Whether this module is being loaded by the Lambda runtime (its init phase, before any request). */
export function inLambdaRuntime(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.AWS_LAMBDA_FUNCTION_NAME && env.AWS_EXECUTION_ENV);
}

/**
 * The function's dependencies in a Lambda container, built once. Called at
 * module scope: in Lambda's init phase it builds them at once and starts
 * loading the model (init runs with full CPU, before the first request);
 * elsewhere (tests, local mode importing the module) it builds nothing until asked.
 */
export function lambdaDeps<D extends ApiDeps>(fn: ApiFunction, build: ApiDepsBuilder<D>): () => D {
  let deps: D | undefined;
  const get = () => {
    if (!deps) {
      const { base, settings } = containerBase(fn);
      deps = build(base, settings);
    }
    return deps;
  };
  if (inLambdaRuntime()) {
    void modelStoreOf(get())?.current();
  }
  return get;
}
