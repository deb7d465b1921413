import {
  type ApiDeps,
  HttpError,
  json,
  makeApiHandler,
  parseInput,
  requireModel,
  type RouteHandler,
} from '../api';
import { type ApiSettings, modelStore } from '../container';
import { type CatalogueModel, type ModelStore, s3CatalogueSource } from '../model-store';
import { servesBaselines, similarByItemKnn, withAttributes } from '../recommender';
import { itemPathSchema, similarQuerySchema } from '../schemas';
import { withFilter } from '../filters/bound-filter';
import { applyNamedFilter, rejectStrayParameters, splitQuery } from '../filters/filter-request';
import { getFilter } from '../filters/filter-store';
import { NamedFilters } from '../filters/named-filters';
import { type MarkServed, markServedWith } from '../served-lists';

export interface SimilarItemsDeps extends ApiDeps {
  readonly models: ModelStore<CatalogueModel>;
  readonly filters: NamedFilters;
  readonly markServed: MarkServed;
}

export function similarItemsDeps(base: ApiDeps, settings: ApiSettings): SimilarItemsDeps {
  return {
    ...base,
    models: modelStore(base, settings, s3CatalogueSource),
    filters: new NamedFilters(
      (name) => getFilter({ client: base.dynamoDb, table: base.tables.filters }, name),
      settings.filtersCacheMs,
    ),
    markServed: markServedWith(base),
  };
}

/** GET /v1/items/{itemId}/similar: nearest items in the embedding space. */
export const getSimilarItems: RouteHandler<SimilarItemsDeps> = async (event, deps, scope) => {
  const { itemId } = parseInput(itemPathSchema, event.pathParameters ?? {}, 'path');
  const { own, parameters } = splitQuery(event.queryStringParameters);
  const query = parseInput(similarQuerySchema, own, 'query');
  const model = await requireModel(deps.models, scope);
  const index = model.items.indexOf(itemId);
  if (index === undefined) {
    throw new HttpError(
      404,
      'item_not_found',
      `item '${itemId}' is not in model ${model.manifest.version} (items added after training appear after the next run)`,
      { field: 'itemId', in: 'path' },
    );
  }
  const named = query.filter
    ? await applyNamedFilter(deps.filters, query.filter, 'filter', parameters, model, {
        withoutUser: 'similar items',
      })
    : undefined;
  rejectStrayParameters(parameters, [named]);
  const filter = withFilter(
    {
      ...(query.category !== undefined ? { category: query.category } : {}),
      ...(query.min_price !== undefined ? { minPrice: query.min_price } : {}),
      ...(query.max_price !== undefined ? { maxPrice: query.max_price } : {}),
    },
    named?.mask,
    undefined,
  );
  // Before any model passed the quality gate, the item-kNN baseline finds the neighbours.
  const strategy = servesBaselines(model) ? 'item_knn' : 'embedding';
  const items = servesBaselines(model)
    ? similarByItemKnn(model, index, query.limit, filter)
    : model.items.similar(index, query.limit, filter);
  const filtered =
    query.category !== undefined ||
    query.min_price !== undefined ||
    query.max_price !== undefined ||
    named !== undefined;
  const recommendationId = await deps.markServed(
    { surface: 'similar', strategy, ...(named ? { filter: named.name } : {}) },
    items.length,
    scope.log,
  );
  return json(200, {
    itemId,
    modelVersion: model.manifest.version,
    recommendationId,
    ...(named ? { filter: named.name } : {}),
    items: ((scored) => (query.include === 'attributes' ? withAttributes(model, scored) : scored))(
      items.map((item) => ({ itemId: item.itemId, score: Number(item.score.toFixed(6)) })),
    ),
    // Fewer than asked: say why instead of padding with dissimilar items.
    ...(items.length < query.limit
      ? {
          note: `only ${items.length} item${items.length === 1 ? ' is' : 's are'} similar to '${itemId}' (cosine similarity above 0)${filtered ? ' within the filter' : ''}`,
        }
      : {}),
  });
};

/** The Lambda handler over the given dependencies: the Lambda entry point (functions/api/) passes its container's, the local API server its own. */
export const makeHandler = (depsFor: () => SimilarItemsDeps) =>
  makeApiHandler('similar-items', { getSimilarItems }, depsFor);
