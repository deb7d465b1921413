import {
  type ApiDeps,
  json,
  makeApiHandler,
  requireModel,
  type RouteHandler,
} from '../../shared/serving/api';
import { containerApiDeps } from '../../shared/serving/container';

/** GET /v1/model: the served model's version, training time and test metrics. */
export const getModel: RouteHandler = async (_event, deps, scope) => {
  const { manifest } = await requireModel(deps, scope);
  return json(200, {
    version: manifest.version,
    trainedAt: manifest.trainedAt,
    numItems: manifest.numItems,
    numUsers: manifest.numUsers,
    embeddingDim: manifest.embeddingDim,
    metrics: manifest.metrics,
  });
};

/** GET /v1/health: the function is up; says whether a model is loaded (no API key needed). */
export const getHealth: RouteHandler = async (_event, deps, scope) => {
  const model = await deps.models.current();
  if (model) scope.modelVersion = model.manifest.version;
  return json(200, {
    status: model ? 'ok' : 'waiting_for_model',
    modelVersion: model?.manifest.version ?? null,
  });
};

/** The Lambda handler over the given dependencies (the local API server passes its own). */
export const makeHandler = (depsFor: () => ApiDeps) =>
  makeApiHandler('model', { getModel, getHealth }, depsFor);

export const handler = makeHandler(() => containerApiDeps('model'));
