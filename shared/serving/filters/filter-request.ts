import { HttpError } from '../api';
import type { ServedModel } from '../model-store';
import type { AppliedFilter } from '../recommender';
import { checkParameters, FilterParameterError, missingParameters, readsInteractions } from './bound-filter';
import { FilterSyntaxError } from './filter-expression';
import type { NamedFilters, ResolvedFilter } from './named-filters';

/**
 * The API side of named filters: which query values are a filter's parameters, and the 404/400 answers
 * for an unknown filter, a missing or malformed parameter, or a parameter no filter of the request uses.
 */

const PARAMETER_KEY = /^[A-Z][A-Z0-9_]*$/;

/** Splits a query: upper-case keys are filter parameters (`CATEGORIES=books,toys`), the rest the route's own. */
export function splitQuery(query: Readonly<Record<string, string | undefined>> | null): {
  own: Record<string, string>;
  parameters: Record<string, string>;
} {
  // Object.fromEntries keeps a key named __proto__ as data, where an assignment would set the prototype.
  const entries = Object.entries(query ?? {}).filter(
    (entry): entry is [string, string] => entry[1] !== undefined,
  );
  return {
    own: Object.fromEntries(entries.filter(([key]) => !PARAMETER_KEY.test(key))),
    parameters: Object.fromEntries(entries.filter(([key]) => PARAMETER_KEY.test(key))),
  };
}

type Role = 'filter' | 'promotion';

/** Resolves `?filter=` or `?promotion=` for this request: the filter with its item side evaluated. */
export async function applyNamedFilter(
  filters: NamedFilters,
  name: string,
  role: Role,
  parameters: Readonly<Record<string, string>>,
  model: Pick<ServedModel, 'manifest' | 'items'>,
  options: { readonly withoutUser?: string } = {},
): Promise<AppliedFilter> {
  let filter: ResolvedFilter | undefined;
  try {
    filter = await filters.get(name);
  } catch (error) {
    if (!(error instanceof FilterSyntaxError)) throw error;
    // Stored before a stricter parser: say so rather than fail the request with a 500.
    throw new HttpError(409, 'filter_invalid', `filter '${name}' no longer parses: ${error.message}`, {
      field: role,
      in: 'query',
    });
  }
  if (!filter) {
    throw new HttpError(404, 'filter_not_found', `filter '${name}' does not exist (see GET /v1/filters)`, {
      field: role,
      in: 'query',
    });
  }
  if (options.withoutUser && readsInteractions(filter.expression)) {
    throw new HttpError(
      400,
      'validation_error',
      `filter '${name}' reads Interactions, which needs a user; ${options.withoutUser} has none`,
      { field: role, in: 'query' },
    );
  }
  const [missing] = missingParameters(filter.expression, parameters);
  if (missing) {
    throw new HttpError(
      400,
      'validation_error',
      `query field '${missing}' is required by ${role} '${name}'`,
      {
        field: missing,
        in: 'query',
      },
    );
  }
  try {
    checkParameters(filter.expression, parameters);
  } catch (error) {
    if (!(error instanceof FilterParameterError)) throw error;
    throw new HttpError(400, 'validation_error', `query field '${error.parameter}': ${error.message}`, {
      field: error.parameter,
      in: 'query',
    });
  }
  const mask = filters.mask(filter, parameters, model.manifest.version, model.items.attributes);
  return { name, expression: filter.expression, parameters, ...(mask ? { mask } : {}) };
}

/** A 400 for upper-case query values no filter of the request uses (a typo would otherwise be ignored). */
export function rejectStrayParameters(
  parameters: Readonly<Record<string, string>>,
  applied: readonly (AppliedFilter | undefined)[],
): void {
  const used = new Set(applied.flatMap((filter) => filter?.expression.parameters ?? []));
  const stray = Object.keys(parameters).find((key) => !used.has(key));
  if (stray === undefined) return;
  const names = applied.flatMap((filter) => (filter ? [`'${filter.name}'`] : []));
  throw new HttpError(
    400,
    'validation_error',
    names.length > 0
      ? `query field '${stray}' is not a parameter of filter ${names.join(' or ')}`
      : `query field '${stray}' is not a known parameter (filter parameters need ?filter=)`,
    { field: stray, in: 'query' },
  );
}
