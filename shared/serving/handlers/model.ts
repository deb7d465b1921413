import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { type ApiDeps, json, makeApiHandler, requireModel, type RouteHandler } from '../api';
import { type ApiSettings, modelStore } from '../container';
import { type ManifestOnly, type ModelStore, s3ManifestSource } from '../model-store';

/** Metadata and health need the manifest only: this function never loads vectors or weights. */
export interface ModelDeps extends ApiDeps {
  readonly models: ModelStore<ManifestOnly>;
}

export function modelDeps(base: ApiDeps, settings: ApiSettings): ModelDeps {
  return { ...base, models: modelStore(base, settings, s3ManifestSource) };
}

/** GET /v1/model: the served model's version, training time and test metrics. */
export const getModel: RouteHandler<ModelDeps> = async (_event, deps, scope) => {
  const { manifest } = await requireModel(deps.models, scope);
  return json(200, {
    version: manifest.version,
    trainedAt: manifest.trainedAt,
    numItems: manifest.numItems,
    numUsers: manifest.numUsers,
    embeddingDim: manifest.embeddingDim,
    metrics: manifest.metrics,
    serving: manifest.serving ?? 'model',
  });
};

/** A dependency's state as health reports it. */
type DependencyState = 'ok' | 'unavailable';

/** How long one container reuses a feature-store probe: an open route must not cost a read per call. */
const PROBE_TTL_MS = 5_000;
/** The last probe per client (one per container in Lambda). */
const lastProbes = new WeakMap<object, { at: number; state: DependencyState }>();

/** Reads one absent key of the users table: answers whether DynamoDB serves the feature store right now. */
async function probeFeatureStore(deps: ModelDeps): Promise<DependencyState> {
  const now = Date.now();
  const lastProbe = lastProbes.get(deps.dynamoDb);
  if (lastProbe && now - lastProbe.at < PROBE_TTL_MS) return lastProbe.state;
  let state: DependencyState = 'ok';
  try {
    await deps.dynamoDb.send(
      new GetItemCommand({
        TableName: deps.tables.users,
        Key: { user_id: { S: '__mappa_health__' } },
        ProjectionExpression: 'user_id',
      }),
    );
  } catch (error) {
    state = 'unavailable';
    deps.log.warn('health: the feature store does not answer', { error });
  }
  lastProbes.set(deps.dynamoDb, { at: now, state });
  return state;
}

/**
 * GET /v1/health (no API key needed): `ok`, `waiting_for_model` before the first model, or `degraded` naming
 * the dependency that does not answer (the model store in S3, the feature store in DynamoDB) — recommendations
 * then fall back to non-personal lists.
 */
export const getHealth: RouteHandler<ModelDeps> = async (_event, deps, scope) => {
  const [model, featureStore] = await Promise.all([
    deps.models.current().then((current) => ({
      current,
      state: (deps.models.lastError ? 'unavailable' : 'ok') as DependencyState,
    })),
    probeFeatureStore(deps),
  ]);
  if (model.current) scope.modelVersion = model.current.manifest.version;
  const dependencies = { modelStore: model.state, featureStore };
  const failed = Object.entries(dependencies)
    .filter(([, state]) => state !== 'ok')
    .map(([name]) => name);
  return json(200, {
    status: failed.length > 0 ? 'degraded' : model.current ? 'ok' : 'waiting_for_model',
    modelVersion: model.current?.manifest.version ?? null,
    dependencies,
    ...(failed.length > 0 ? { failed } : {}),
  });
};

/** The Lambda handler over the given dependencies: the Lambda entry point (functions/api/) passes its container's, the local API server its own. */
export const makeHandler = (depsFor: () => ModelDeps) =>
  makeApiHandler('model', { getModel, getHealth }, depsFor);
