import {
  type ApiDeps,
  HttpError,
  json,
  jsonBody,
  makeApiHandler,
  parseInput,
  requireModel,
  type RouteHandler,
} from '../../shared/serving/api';
import { assignVariant } from '../../shared/marketing/experiments';
import { containerApiDeps } from '../../shared/serving/container';
import { rank, recommend } from '../../shared/serving/recommender';
import { rankBodySchema, recommendationsQuerySchema, userPathSchema } from '../../shared/serving/schemas';
import { readUserState } from '../../shared/serving/user-state';

/** GET /v1/users/{userId}/recommendations and POST /v1/users/{userId}/rank. */
export const getRecommendations: RouteHandler = async (event, deps, scope) => {
  const { userId } = parseInput(userPathSchema, event.pathParameters ?? {}, 'path');
  const query = parseInput(recommendationsQuerySchema, event.queryStringParameters ?? {}, 'query');
  const model = await requireModel(deps, scope);
  const experiment = query.experiment ? await deps.experiments.get(query.experiment) : undefined;
  if (query.experiment && !experiment) {
    throw new HttpError(404, 'experiment_not_found', `experiment '${query.experiment}' does not exist`, {
      field: 'experiment',
      in: 'query',
    });
  }
  const variant = experiment ? assignVariant(experiment, userId) : undefined;
  const state = await readUserState(deps.dynamoDb, deps.tables, userId, model.manifest.version, scope.log);
  const result = recommend(
    model,
    userId,
    state,
    {
      limit: query.limit,
      excludeSeen: query.exclude_seen === 'true',
      ...(query.category !== undefined ? { category: query.category } : {}),
      ...(query.min_price !== undefined ? { minPrice: query.min_price } : {}),
      ...(query.max_price !== undefined ? { maxPrice: query.max_price } : {}),
      ...(variant ? { variantStrategy: variant.strategy } : {}),
    },
    deps.policy,
  );
  scope.strategy = result.strategy;
  // The exposure is what the experiment report counts: record it before answering.
  if (experiment && variant)
    await deps.experiments.store.recordExposure(experiment.experimentId, userId, variant.name);
  return json(200, {
    userId,
    modelVersion: model.manifest.version,
    strategy: result.strategy,
    ...(experiment && variant ? { experiment: experiment.experimentId, variant: variant.name } : {}),
    items: result.items,
  });
};

export const rankItems: RouteHandler = async (event, deps, scope) => {
  const { userId } = parseInput(userPathSchema, event.pathParameters ?? {}, 'path');
  const body = parseInput(rankBodySchema, jsonBody(event), 'body');
  const model = await requireModel(deps, scope);
  const state = await readUserState(deps.dynamoDb, deps.tables, userId, model.manifest.version, scope.log);
  const result = rank(model, userId, state, body.itemIds);
  scope.strategy = result.strategy;
  return json(200, { userId, modelVersion: model.manifest.version, ...result });
};

/** The Lambda handler over the given dependencies (the local API server passes its own). */
export const makeHandler = (depsFor: () => ApiDeps) =>
  makeApiHandler('recommendations', { getRecommendations, rankItems }, depsFor);

export const handler = makeHandler(() => containerApiDeps('recommendations'));
