import {
  type ApiDeps,
  json,
  makeApiHandler,
  requireModel,
  type RouteHandler,
} from '../../shared/serving/api';
import { type ApiSettings, lambdaDeps, modelStore } from '../../shared/serving/container';
import { type ManifestOnly, type ModelStore, s3ManifestSource } from '../../shared/serving/model-store';

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

/** GET /v1/health: the function is up; says whether a model is loaded (no API key needed). */
export const getHealth: RouteHandler<ModelDeps> = async (_event, deps, scope) => {
  const model = await deps.models.current();
  if (model) scope.modelVersion = model.manifest.version;
  return json(200, {
    status: model ? 'ok' : 'waiting_for_model',
    modelVersion: model?.manifest.version ?? null,
  });
};

/** The Lambda handler over the given dependencies (the local API server passes its own). */
export const makeHandler = (depsFor: () => ModelDeps) =>
  makeApiHandler('model', { getModel, getHealth }, depsFor);

export const handler = makeHandler(lambdaDeps('model', modelDeps));
