import {
  type ApiDeps,
  HttpError,
  json,
  jsonBody,
  makeApiHandler,
  parseInput,
  type RouteHandler,
} from '../api';
import type { ApiSettings } from '../container';
import { FilterSyntaxError, parseFilterExpression } from '../filters/filter-expression';
import {
  createFilter as storeFilter,
  deleteFilter as removeFilter,
  FilterConflict,
  type FilterTable,
  listFilters as readFilters,
  type StoredFilter,
  TooManyFilters,
} from '../filters/filter-store';
import { filterBodySchema, filterPathSchema } from '../schemas';

/** What the filters function uses: the filters table, read and written. */
export interface FiltersDeps extends ApiDeps {
  readonly filterTable: FilterTable;
}

export function filtersDeps(base: ApiDeps, _settings: ApiSettings): FiltersDeps {
  return { ...base, filterTable: { client: base.dynamoDb, table: base.tables.filters } };
}

/** A stored filter as the API shows it: with the parameters a request must give. */
function describe(filter: StoredFilter) {
  const parsed = parseFilterExpression(filter.expression);
  return {
    name: filter.name,
    expression: filter.expression,
    parameters: parsed.parameters,
    reads: [...new Set(parsed.parts.map((part) => part.dataset))],
    createdAt: filter.createdAt,
  };
}

/** POST /v1/filters: 201 when created, 200 for a repeated identical request, 409 for another expression. */
export const createFilter: RouteHandler<FiltersDeps> = async (event, deps) => {
  const body = parseInput(filterBodySchema, jsonBody(event), 'body');
  try {
    parseFilterExpression(body.expression);
  } catch (error) {
    if (!(error instanceof FilterSyntaxError)) throw error;
    throw new HttpError(400, 'invalid_filter_expression', `body field 'expression' ${error.message}`, {
      field: 'expression',
      in: 'body',
      position: error.position,
    });
  }
  try {
    const { created, filter } = await storeFilter(
      deps.filterTable,
      body.name,
      body.expression,
      deps.now?.() ?? new Date(),
    );
    return json(created ? 201 : 200, describe(filter));
  } catch (error) {
    if (error instanceof FilterConflict) {
      throw new HttpError(409, 'filter_exists', error.message, { field: 'name', in: 'body' });
    }
    if (error instanceof TooManyFilters) {
      throw new HttpError(409, 'too_many_filters', error.message, { field: 'name', in: 'body' });
    }
    throw error;
  }
};

/** GET /v1/filters: every filter, by name. */
export const listFilters: RouteHandler<FiltersDeps> = async (_event, deps) => {
  const filters = await readFilters(deps.filterTable);
  return json(200, { filters: filters.map(describe) });
};

/** DELETE /v1/filters/{name}: 200 with what was deleted; 404 when there is no such filter. */
export const deleteFilter: RouteHandler<FiltersDeps> = async (event, deps) => {
  const { name } = parseInput(filterPathSchema, event.pathParameters ?? {}, 'path');
  const deleted = await removeFilter(deps.filterTable, name);
  if (!deleted) {
    throw new HttpError(404, 'filter_not_found', `filter '${name}' does not exist`, {
      field: 'name',
      in: 'path',
    });
  }
  return json(200, { ...describe(deleted), deleted: true });
};

/** The Lambda handler over the given dependencies: the Lambda entry point (functions/api/) passes its container's, the local API server its own. */
export const makeHandler = (depsFor: () => FiltersDeps) =>
  makeApiHandler('filters', { createFilter, listFilters, deleteFilter }, depsFor);
