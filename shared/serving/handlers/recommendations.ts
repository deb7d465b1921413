import {
  type ApiDeps,
  HttpError,
  json,
  jsonBody,
  makeApiHandler,
  parseInput,
  requireModel,
  type RouteHandler,
} from '../api';
import { getExperiment, recordExposure } from '../../marketing/experiment-store';
import { assignVariant, DEFAULT_ATTRIBUTION_WINDOW_DAYS } from '../../marketing/experiments';
import { type ApiSettings, modelStore } from '../container';
import { ExperimentDefinitions } from '../experiment-directory';
import { type ModelStore, s3ModelSource } from '../model-store';
import { rank, recommend, withAttributes } from '../recommender';
import { rankBodySchema, rankQuerySchema, recommendationsQuerySchema, userPathSchema } from '../schemas';
import { applyNamedFilter, rejectStrayParameters, splitQuery } from '../filters/filter-request';
import { getFilter } from '../filters/filter-store';
import { NamedFilters } from '../filters/named-filters';
import { type MarkServed, markServedWith } from '../served-lists';
import { NewItemInteractions, readItemEventCounts } from '../new-item-stats';
import { noteExperimentExposure, readUserState } from '../user-state';

/** What the recommendations function uses: the full model, named filters, experiment definitions, exposure counting. */
export interface RecommendationsDeps extends ApiDeps {
  readonly models: ModelStore;
  readonly filters: NamedFilters;
  readonly markServed: MarkServed;
  readonly newItemInteractions: NewItemInteractions;
  readonly exploration: ApiSettings['exploration'];
  readonly experiments: ExperimentDefinitions;
  readonly recordExposure: (
    experimentId: string,
    userId: string,
    variant: string,
    window: { at: Date; days: number },
  ) => Promise<void>;
}

export function recommendationsDeps(base: ApiDeps, settings: ApiSettings): RecommendationsDeps {
  const table = { client: base.dynamoDb, table: base.tables.experiments };
  return {
    ...base,
    models: modelStore(base, settings, s3ModelSource),
    filters: new NamedFilters(
      (name) => getFilter({ client: base.dynamoDb, table: base.tables.filters }, name),
      settings.filtersCacheMs,
    ),
    markServed: markServedWith(base),
    newItemInteractions: new NewItemInteractions(
      (itemIds) => readItemEventCounts(base.dynamoDb, base.tables.items, itemIds),
      60_000,
    ),
    exploration: settings.exploration,
    experiments: new ExperimentDefinitions((experimentId) => getExperiment(table, experimentId)),
    recordExposure: async (experimentId, userId, variant, window) => {
      await recordExposure(table, experimentId, userId, variant, window);
      await noteExperimentExposure(base.dynamoDb, base.tables.users, userId, experimentId);
    },
  };
}

/** GET /v1/users/{userId}/recommendations and POST /v1/users/{userId}/rank. */
export const getRecommendations: RouteHandler<RecommendationsDeps> = async (event, deps, scope) => {
  const { userId } = parseInput(userPathSchema, event.pathParameters ?? {}, 'path');
  const { own, parameters } = splitQuery(event.queryStringParameters);
  const query = parseInput(recommendationsQuerySchema, own, 'query');
  const model = await requireModel(deps.models, scope);
  const filter = query.filter
    ? await applyNamedFilter(deps.filters, query.filter, 'filter', parameters, model)
    : undefined;
  const promoted = query.promotion
    ? await applyNamedFilter(deps.filters, query.promotion, 'promotion', parameters, model)
    : undefined;
  rejectStrayParameters(parameters, [filter, promoted]);
  const experiment = query.experiment ? await deps.experiments.get(query.experiment) : undefined;
  if (query.experiment && !experiment) {
    throw new HttpError(404, 'experiment_not_found', `experiment '${query.experiment}' does not exist`, {
      field: 'experiment',
      in: 'query',
    });
  }
  const variant = experiment ? assignVariant(experiment, userId) : undefined;
  const state = await readUserState(deps.dynamoDb, deps.tables, userId, model.manifest.version, scope.log);
  const now = deps.now?.() ?? new Date();
  const exploration = {
    weight: query.exploration_weight ?? deps.exploration.weight,
    itemAgeCutoffDays: query.exploration_item_age_cutoff_days ?? deps.exploration.itemAgeCutoffDays,
    now: Math.floor(now.getTime() / 1000),
    interactions: await deps.newItemInteractions.of(model),
  };
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
      ...(variant?.strategy ? { variantStrategy: variant.strategy } : {}),
      ...(filter ? { filter } : {}),
      ...(promoted ? { promotion: { filter: promoted, share: query.promotion_share ?? 0.2 } } : {}),
      exploration,
    },
    deps.policy,
  );
  scope.strategy = result.strategy;
  // The exposure is what the experiment report counts: record it before answering.
  if (experiment && variant) {
    await deps.recordExposure(experiment.experimentId, userId, variant.name, {
      at: now,
      days: experiment.attributionWindowDays ?? DEFAULT_ATTRIBUTION_WINDOW_DAYS,
    });
  }
  const recommendationId = await deps.markServed(
    {
      surface: 'recommendations',
      strategy: result.strategy,
      ...(filter ? { filter: filter.name } : {}),
      ...(promoted ? { promotion: promoted.name } : {}),
      ...(experiment && variant ? { experiment: experiment.experimentId, variant: variant.name } : {}),
    },
    result.items.length,
    scope.log,
  );
  return json(200, {
    userId,
    modelVersion: model.manifest.version,
    recommendationId,
    strategy: result.strategy,
    ...(experiment && variant ? { experiment: experiment.experimentId, variant: variant.name } : {}),
    ...(filter ? { filter: filter.name } : {}),
    ...(promoted ? { promotion: promoted.name } : {}),
    items: query.include === 'attributes' ? withAttributes(model, result.items) : result.items,
  });
};

export const rankItems: RouteHandler<RecommendationsDeps> = async (event, deps, scope) => {
  const { userId } = parseInput(userPathSchema, event.pathParameters ?? {}, 'path');
  const { own, parameters } = splitQuery(event.queryStringParameters);
  const query = parseInput(rankQuerySchema, own, 'query');
  const body = parseInput(rankBodySchema, jsonBody(event), 'body');
  const model = await requireModel(deps.models, scope);
  const filter = query.filter
    ? await applyNamedFilter(deps.filters, query.filter, 'filter', parameters, model)
    : undefined;
  rejectStrayParameters(parameters, [filter]);
  const state = await readUserState(deps.dynamoDb, deps.tables, userId, model.manifest.version, scope.log);
  const result = rank(model, userId, state, body.itemIds, {
    excludeSeen: body.excludeSeen,
    policy: deps.policy,
    ...(filter ? { filter } : {}),
  });
  scope.strategy = result.strategy;
  const recommendationId = await deps.markServed(
    { surface: 'rank', strategy: result.strategy, ...(filter ? { filter: filter.name } : {}) },
    result.items.length,
    scope.log,
  );
  return json(200, {
    userId,
    modelVersion: model.manifest.version,
    recommendationId,
    ...(filter ? { filter: filter.name } : {}),
    ...result,
  });
};

/** The Lambda handler over the given dependencies: the Lambda entry point (functions/api/) passes its container's, the local API server its own. */
export const makeHandler = (depsFor: () => RecommendationsDeps) =>
  makeApiHandler('recommendations', { getRecommendations, rankItems }, depsFor);
