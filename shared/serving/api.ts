import { performance } from 'node:perf_hooks';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { FirehoseClient } from '@aws-sdk/client-firehose';
import type { S3Client } from '@aws-sdk/client-s3';
import middy from '@middy/core';
import httpCors from '@middy/http-cors';
import httpErrorHandler from '@middy/http-error-handler';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type * as z from '../data/schema';
import type { Logger } from '../observability/logger';
import { publishRequestMetrics } from '../observability/metrics';
import { tracedInvocation } from '../observability/tracing';
import type { ManifestOnly, ModelStore } from './model-store';
import type { ServingPolicy, Strategy } from './recommender';
import { API_ROUTES, type ApiFunction } from './routes';
import { isTransientDynamoDbError, type ServingTables } from './user-state';

/**
 * The API Lambdas' shared frame: routing by API Gateway resource, request
 * validation with zod, JSON errors that name the offending field, structured
 * logs and EMF metrics per request. Route handlers stay small and call the
 * pure serving modules.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/**
 * What every API function has; built once per container. Each function adds
 * what its routes use (its model store, its experiment reads and writes) in
 * its own handler module, so its bundle holds only the calls its role allows.
 */
export interface ApiDeps {
  readonly s3: S3Client;
  readonly dynamoDb: DynamoDBClient;
  /** The events function's delivery-stream client when the caller already has one (local wiring). */
  readonly firehose?: FirehoseClient;
  readonly bucket: string;
  readonly tables: ServingTables;
  readonly policy: ServingPolicy;
  readonly log: Logger;
  /** Origins browser callers may call from (`*` wildcards allowed); no CORS headers when empty or unset. */
  readonly corsOrigins?: readonly string[];
  readonly now?: () => Date;
  /** Where EMF metric lines go (stdout in Lambda). */
  readonly writeMetrics?: (line: string) => void;
}

/** Per-request scope: a logger bound to the request id, and facts for the request's metrics. */
export interface RequestScope {
  readonly log: Logger;
  modelVersion?: string;
  strategy?: Strategy;
}

export type RouteHandler<D extends ApiDeps = ApiDeps> = (
  event: APIGatewayProxyEvent,
  deps: D,
  scope: RequestScope,
) => Promise<APIGatewayProxyResult>;

export function json(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyResult {
  return {
    statusCode: status,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}

function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, part) => {
    if (typeof part === 'number') return `${text}[${part}]`;
    return text ? `${text}.${String(part)}` : String(part);
  }, '');
}

/** Validates one part of the request; a 400 names the first offending field and lists all issues. */
export function parseInput<Schema extends z.ZodMiniType>(
  schema: Schema,
  value: unknown,
  location: 'path' | 'query' | 'body',
): z.output<Schema> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => {
    // An unknown key is reported on the key itself, not on its parent object.
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined];
    return keys.map((key) => ({
      field: fieldPath(key === undefined ? issue.path : [...issue.path, key]) || location,
      message: issue.code === 'unrecognized_keys' ? 'is not a known parameter' : issue.message,
    }));
  });
  const flat = issues.flat();
  const first = flat[0] ?? { field: location, message: 'is invalid' };
  throw new HttpError(400, 'validation_error', `${location} field '${first.field}' ${first.message}`, {
    field: first.field,
    in: location,
    issues: flat,
  });
}

/** The JSON body, or a 400 naming `body`. */
export function jsonBody(event: APIGatewayProxyEvent): unknown {
  if (!event.body)
    throw new HttpError(400, 'validation_error', 'body is required', { field: 'body', in: 'body' });
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'validation_error', 'body is not valid JSON', { field: 'body', in: 'body' });
  }
}

/** The served model, or 503 while none has been trained and promoted. */
export async function requireModel<M extends ManifestOnly>(
  models: ModelStore<M>,
  scope: RequestScope,
): Promise<M> {
  const model = await models.current();
  if (!model) {
    throw new HttpError(
      503,
      'model_not_ready',
      'No model has been trained yet: drop data into incoming/ and run training (`mappa train` locally).',
      {},
      { 'retry-after': '60' },
    );
  }
  scope.modelVersion = model.manifest.version;
  return model;
}

const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
]);

/** What the client is told about an error: status, JSON body, headers. Never leaks internals. */
export function errorResponse(error: unknown, requestId: string): APIGatewayProxyResult {
  if (error instanceof HttpError) {
    return json(error.status, { error: error.code, message: error.message, ...error.details }, error.headers);
  }
  if (isTransientDynamoDbError(error)) {
    const throttled = THROTTLING.has((error as Error).name);
    return json(
      throttled ? 429 : 503,
      {
        error: throttled ? 'throttled' : 'unavailable',
        message: throttled
          ? 'The feature store is throttling requests; retry after a short wait.'
          : 'The feature store is temporarily unavailable; retry after a short wait.',
        requestId,
      },
      { 'retry-after': '1' },
    );
  }
  return json(500, {
    error: 'internal_error',
    message: 'The request failed on the server; quote the request id to the operator.',
    requestId,
  });
}

/**
 * An error in the shape middy's http-error-handler writes out: `expose`d, with
 * the JSON body as its message (the handler sets `Content-Type: application/json`
 * for a JSON message). The original error stays as `cause` for the logs.
 */
class ExposedError extends Error {
  readonly expose = true;
  constructor(
    readonly statusCode: number,
    body: string,
    readonly headers: Record<string, string>,
    override readonly cause: unknown,
  ) {
    super(body);
  }
}

let coldStart = true;

// middy passes `internal` to middlewares only; the handler finds its scope through the event.
const scopes = new WeakMap<APIGatewayProxyEvent, RequestScope>();

interface Internal extends Record<string, unknown> {
  scope?: RequestScope;
  startedAt?: number;
}

type Request = middy.Request<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context, Internal>;

/** Logs one line and writes one EMF metric line per request, for success and failure alike. */
function observability(
  fn: ApiFunction,
  depsFor: () => ApiDeps,
): middy.MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context, Internal> {
  const finish = (request: Request) => {
    const deps = depsFor();
    const scope = request.internal.scope;
    const route = API_ROUTES.find(
      (candidate) =>
        candidate.path === request.event.resource && candidate.method === request.event.httpMethod,
    );
    const latencyMs = performance.now() - (request.internal.startedAt ?? performance.now());
    const status = request.response?.statusCode ?? 500;
    // What the route threw, not the ExposedError it became for the response.
    const error = request.error instanceof ExposedError ? request.error.cause : request.error;
    const wasColdStart = coldStart;
    coldStart = false;
    const fields = {
      route: route?.operationId ?? request.event.resource,
      status,
      latencyMs: Number(latencyMs.toFixed(2)),
      coldStart: wasColdStart,
      ...(scope?.strategy ? { strategy: scope.strategy } : {}),
      ...(scope?.modelVersion ? { modelVersion: scope.modelVersion } : {}),
    };
    if (status >= 500 && !(error instanceof HttpError)) {
      scope?.log.error('request failed', { ...fields, error });
    } else if (status >= 500) scope?.log.warn('request refused', { ...fields, error });
    else scope?.log.info('request', fields);
    publishRequestMetrics(
      {
        service: `mappa-api-${fn}`,
        route: fields.route,
        latencyMs: fields.latencyMs,
        coldStart: wasColdStart,
        status,
        strategy: scope?.strategy,
        properties: { requestId: request.context.awsRequestId, modelVersion: scope?.modelVersion },
      },
      deps.writeMetrics ?? ((line: string) => process.stdout.write(`${line}\n`)),
    );
  };
  return {
    before: (request) => {
      request.internal.startedAt = performance.now();
      // Function name, version, request id and cold start on every line, as Powertools' injectLambdaContext adds.
      depsFor().log.powertools.addContext(request.context);
      const scope: RequestScope = {
        log: depsFor().log.child({
          requestId: request.context.awsRequestId,
          apiRequestId: request.event.requestContext?.requestId,
        }),
      };
      request.internal.scope = scope;
      scopes.set(request.event, scope);
    },
    after: finish,
    onError: finish,
  };
}

/** Maps a thrown error to its ExposedError; declared last, so it runs first when a route throws. */
function exposeErrors(): middy.MiddlewareObj<
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  Error,
  Context,
  Internal
> {
  return {
    onError: (request) => {
      const { statusCode, body, headers = {} } = errorResponse(request.error, request.context.awsRequestId);
      // The error handler sets Content-Type itself.
      const { 'content-type': _json, ...rest } = headers as Record<string, string>;
      request.error = new ExposedError(statusCode, body, rest, request.error);
    },
  };
}

/** Middy's http-cors over the function's configured origins (read once its dependencies exist). */
function cors(
  depsFor: () => ApiDeps,
): middy.MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context, Internal> {
  let middleware: middy.MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult> | undefined | null;
  const forOrigins = () => {
    if (middleware === undefined) {
      const origins = depsFor().corsOrigins ?? [];
      middleware = origins.length > 0 ? httpCors({ origins: [...origins] }) : null;
    }
    return middleware;
  };
  return {
    after: (request) => forOrigins()?.after?.(request),
    onError: (request) => forOrigins()?.onError?.(request),
  };
}

/** A Lambda handler serving the given routes of one API function. */
export function makeApiHandler<D extends ApiDeps>(
  fn: ApiFunction,
  routes: Record<string, RouteHandler<D>>,
  depsFor: () => D,
) {
  const owned = API_ROUTES.filter((route) => route.fn === fn);
  for (const route of owned) {
    if (!routes[route.operationId])
      throw new Error(`API function ${fn} lacks a handler for ${route.operationId}`);
  }
  return middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context, Internal>()
    .use(tracedInvocation())
    .use(observability(fn, depsFor))
    .use(cors(depsFor))
    .use(httpErrorHandler({ logger: false }))
    .use(exposeErrors())
    .handler(async (event) => {
      const route = owned.find(
        (candidate) => candidate.path === event.resource && candidate.method === event.httpMethod,
      );
      const handle = route ? routes[route.operationId] : undefined;
      if (!route || !handle) {
        throw new HttpError(
          404,
          'route_not_found',
          `${event.httpMethod} ${event.resource} is not served here`,
        );
      }
      return handle(event, depsFor(), scopeOf(event));
    });
}

function scopeOf(event: APIGatewayProxyEvent): RequestScope {
  const scope = scopes.get(event);
  if (!scope) throw new Error('request scope missing: the observability middleware did not run');
  return scope;
}
