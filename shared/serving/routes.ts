/**
 * The HTTP API's routes, one list for the CDK construct (resources, methods,
 * API-key requirement), the local server (dispatch) and the OpenAPI test.
 * `fn` names the Lambda function serving the route: one per API concern.
 */
export type ApiFunction =
  | 'recommendations'
  | 'similar-items'
  | 'events'
  | 'model'
  | 'segments'
  | 'experiments'
  | 'filters'
  | 'privacy';

export interface ApiRoute {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** API Gateway resource path with `{param}` placeholders. */
  readonly path: string;
  readonly fn: ApiFunction;
  readonly operationId: string;
  /** Whether the `x-api-key` header is required (health checks are open). */
  readonly apiKeyRequired: boolean;
}

export const API_ROUTES: readonly ApiRoute[] = [
  {
    method: 'GET',
    path: '/v1/users/{userId}/recommendations',
    fn: 'recommendations',
    operationId: 'getRecommendations',
    apiKeyRequired: true,
  },
  {
    method: 'POST',
    path: '/v1/users/{userId}/rank',
    fn: 'recommendations',
    operationId: 'rankItems',
    apiKeyRequired: true,
  },
  {
    method: 'GET',
    path: '/v1/items/{itemId}/similar',
    fn: 'similar-items',
    operationId: 'getSimilarItems',
    apiKeyRequired: true,
  },
  {
    method: 'GET',
    path: '/v1/users/{userId}/segment',
    fn: 'segments',
    operationId: 'getUserSegment',
    apiKeyRequired: true,
  },
  {
    method: 'GET',
    path: '/v1/users/{userId}/propensity',
    fn: 'segments',
    operationId: 'getUserPropensity',
    apiKeyRequired: true,
  },
  {
    method: 'GET',
    path: '/v1/users/{userId}/uplift',
    fn: 'segments',
    operationId: 'getUserUplift',
    apiKeyRequired: true,
  },
  { method: 'GET', path: '/v1/segments', fn: 'segments', operationId: 'getSegments', apiKeyRequired: true },
  {
    method: 'POST',
    path: '/v1/experiments',
    fn: 'experiments',
    operationId: 'createExperiment',
    apiKeyRequired: true,
  },
  {
    method: 'POST',
    path: '/v1/experiments/{experimentId}/assignments',
    fn: 'experiments',
    operationId: 'importAssignments',
    apiKeyRequired: true,
  },
  {
    method: 'GET',
    path: '/v1/experiments/{experimentId}/report',
    fn: 'experiments',
    operationId: 'getExperimentReport',
    apiKeyRequired: true,
  },
  {
    method: 'GET',
    path: '/v1/attribution',
    fn: 'experiments',
    operationId: 'getAttribution',
    apiKeyRequired: true,
  },
  {
    method: 'DELETE',
    path: '/v1/users/{userId}',
    fn: 'privacy',
    operationId: 'forgetUser',
    apiKeyRequired: true,
  },
  { method: 'POST', path: '/v1/filters', fn: 'filters', operationId: 'createFilter', apiKeyRequired: true },
  { method: 'GET', path: '/v1/filters', fn: 'filters', operationId: 'listFilters', apiKeyRequired: true },
  {
    method: 'DELETE',
    path: '/v1/filters/{name}',
    fn: 'filters',
    operationId: 'deleteFilter',
    apiKeyRequired: true,
  },
  { method: 'POST', path: '/v1/events', fn: 'events', operationId: 'postEvents', apiKeyRequired: true },
  { method: 'GET', path: '/v1/model', fn: 'model', operationId: 'getModel', apiKeyRequired: true },
  { method: 'GET', path: '/v1/health', fn: 'model', operationId: 'getHealth', apiKeyRequired: false },
];

export const API_FUNCTIONS: readonly ApiFunction[] = [...new Set(API_ROUTES.map((route) => route.fn))];

export function routeKey(method: string, path: string): string {
  return `${method.toUpperCase()} ${path}`;
}

/** Matches a concrete path against the route templates; returns the route and its path parameters. */
export function matchRoute(
  method: string,
  path: string,
  routes: readonly ApiRoute[] = API_ROUTES,
): { route: ApiRoute; pathParameters: Record<string, string>; undecodable?: string } | undefined {
  const segments = path.split('/');
  for (const route of routes) {
    if (route.method !== method.toUpperCase()) continue;
    const template = route.path.split('/');
    if (template.length !== segments.length) continue;
    const pathParameters: Record<string, string> = {};
    let undecodable: string | undefined;
    let matched = true;
    for (let index = 0; index < template.length && matched; index++) {
      const part = template[index] as string;
      const actual = segments[index] as string;
      if (part.startsWith('{') && part.endsWith('}')) {
        const name = part.slice(1, -1);
        if (actual === '') matched = false;
        else {
          try {
            pathParameters[name] = decodeURIComponent(actual);
          } catch {
            // `%zz`, or bytes that are not UTF-8 (`%E9t%E9`, overlong `%C0%AF`): the caller answers 400.
            pathParameters[name] = actual;
            undecodable ??= name;
          }
        }
      } else if (part !== actual) matched = false;
    }
    if (matched) return { route, pathParameters, ...(undecodable ? { undecodable } : {}) };
  }
  return undefined;
}
