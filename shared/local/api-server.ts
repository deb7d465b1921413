import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { eventsDeps, makeHandler as eventsHandler } from '../serving/handlers/events';
import { experimentsDeps, makeHandler as experimentsHandler } from '../serving/handlers/experiments';
import { filtersDeps, makeHandler as filtersHandler } from '../serving/handlers/filters';
import { makeHandler as privacyHandler, privacyDeps } from '../serving/handlers/privacy';
import { makeHandler as modelHandler, modelDeps } from '../serving/handlers/model';
import {
  makeHandler as recommendationsHandler,
  recommendationsDeps,
} from '../serving/handlers/recommendations';
import { makeHandler as segmentsHandler, segmentsDeps } from '../serving/handlers/segments';
import { makeHandler as similarItemsHandler, similarItemsDeps } from '../serving/handlers/similar-items';
import type { ApiDeps } from '../serving/api';
import { type ApiDepsBuilder, type ApiSettings, modelStoreOf } from '../serving/container';
import type { ManifestOnly, ModelStore } from '../serving/model-store';
import { type ApiFunction, matchRoute } from '../serving/routes';
import { localLambdaContext } from './lambda-context';

/**
 * `mappa serve`: the API Lambda handlers behind a small HTTP server that
 * behaves like the API Gateway REST API the CDK app deploys — the same route
 * table, real `APIGatewayProxyEvent` payloads, API keys checked before the
 * handler runs, a token-bucket rate limit answering 429, API Gateway's own
 * error bodies for unknown routes. No handler logic is re-implemented here.
 */
type LambdaHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/** A function's handler and its model store (if its routes serve a model). */
interface WiredFunction {
  readonly handler: LambdaHandler;
  readonly models?: ModelStore<ManifestOnly>;
}

/** Each function's own dependency builder and handler, exactly as its Lambda module wires them. */
function wire<D extends ApiDeps>(build: ApiDepsBuilder<D>, make: (depsFor: () => D) => LambdaHandler) {
  return (base: ApiDeps, settings: ApiSettings): WiredFunction => {
    const deps = build(base, settings);
    const models = modelStoreOf(deps);
    return { handler: make(() => deps), ...(models ? { models } : {}) };
  };
}

const HANDLER_FACTORIES: Record<ApiFunction, (base: ApiDeps, settings: ApiSettings) => WiredFunction> = {
  recommendations: wire(recommendationsDeps, recommendationsHandler),
  'similar-items': wire(similarItemsDeps, similarItemsHandler),
  events: wire(eventsDeps, eventsHandler),
  model: wire(modelDeps, modelHandler),
  segments: wire(segmentsDeps, segmentsHandler),
  experiments: wire(experimentsDeps, experimentsHandler),
  filters: wire(filtersDeps, filtersHandler),
  privacy: wire(privacyDeps, privacyHandler),
};

/** One function's common frame plus the settings of its own parts (see `localApiDeps`). */
export type LocalFunctionDeps = ApiDeps & { readonly settings: ApiSettings };

export interface LocalApiOptions {
  /** 0 picks a free port. */
  readonly port: number;
  readonly host?: string;
  /** The key clients send as `x-api-key` (an API Gateway API key in AWS). */
  readonly apiKey: string;
  /** Each API function's common frame and settings, as its Lambda container reads them from its environment. */
  readonly depsFor: (fn: ApiFunction) => LocalFunctionDeps;
  /** Usage-plan throttling, steady requests per second and burst: per API key, and separately for open routes. */
  readonly rateLimit?: { readonly requestsPerSecond: number; readonly burst: number };
  /** Request bodies buffered at once, in bytes. @default 32 MiB */
  readonly maxBufferedBodyBytes?: number;
  /** Largest accepted body (API Gateway's limit is 10 MB). */
  readonly maxBodyBytes?: number;
  /** API Gateway's integration timeout: 504 after this long (AWS: 29 s). */
  readonly integrationTimeoutMs?: number;
  /** Lambda's synchronous payload limit for the event (AWS: 6 MB). */
  readonly lambdaRequestBytes?: number;
  /** Lambda's synchronous payload limit for the response (AWS: 6 MB). */
  readonly lambdaResponseBytes?: number;
}

/** Lambda's synchronous invocation payload limit (request and response), in bytes. */
export const LAMBDA_PAYLOAD_BYTES = 6_291_556;
/** API Gateway REST's maximum integration timeout. */
export const INTEGRATION_TIMEOUT_MS = 29_000;

class IntegrationTimeout extends Error {}

/** The handler's result, or IntegrationTimeout once API Gateway would have stopped waiting. */
function withinIntegrationTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new IntegrationTimeout()), timeoutMs);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export interface LocalApi {
  readonly url: string;
  readonly port: number;
  /** Makes every started function re-check the manifest now; resolves once each serves the newest model. */
  refreshModels(): Promise<void>;
  close(): Promise<void>;
}

/** A token bucket: `burst` tokens, refilled at `rate` per second. */
class TokenBucket {
  private tokens: number;
  private updatedAt = Date.now();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) / 1000) * this.rate);
    this.updatedAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

class PayloadTooLarge extends Error {}

/**
 * Bytes of request bodies being buffered at once: a request waits until its share fits, so many large bodies
 * arriving together cannot grow memory without bound (each is at most the 10 MB API Gateway allows).
 */
class BodyBudget {
  private used = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async reserve(bytes: number): Promise<number> {
    const share = Math.min(bytes, this.limit);
    while (this.used + share > this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.used += share;
    return share;
  }

  release(bytes: number): void {
    this.used -= bytes;
    for (const wake of this.waiting.splice(0)) wake();
  }
}

function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Past the limit the rest is read and dropped, so the client gets the 413 instead of a reset.
      if (size <= limit) chunks.push(chunk);
    });
    request.on('end', () => (size > limit ? reject(new PayloadTooLarge()) : resolve(Buffer.concat(chunks))));
    request.on('error', reject);
  });
}

function send(
  response: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  // Header names are case-insensitive: the default applies only when the function set no Content-Type.
  const typed = Object.keys(headers).some((name) => name.toLowerCase() === 'content-type');
  response.writeHead(status, { ...(typed ? {} : { 'content-type': 'application/json' }), ...headers });
  response.end(body);
}

/** The REST API (v1) proxy event API Gateway would send for this request. */
export function apiGatewayEvent(
  request: { method: string; url: URL; headers: Record<string, string | string[] | undefined>; body: Buffer },
  resource: string,
  pathParameters: Record<string, string>,
  apiKey: string | undefined,
  sourceIp: string,
): APIGatewayProxyEvent {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    headers[name] = values.join(',');
    multiValueHeaders[name] = values;
  }
  // No prototype: a parameter named `constructor` or `__proto__` is just a name (as in the JSON Lambda gets).
  const query: Record<string, string> = Object.create(null) as Record<string, string>;
  const multiQuery: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const [name, value] of request.url.searchParams) {
    query[name] = value; // API Gateway keeps the last value in queryStringParameters
    (multiQuery[name] ??= []).push(value);
  }
  const hasQuery = Object.keys(query).length > 0;
  const hasBody = request.body.length > 0;
  const now = Date.now();
  return {
    resource,
    path: request.url.pathname,
    httpMethod: request.method,
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiQuery : null,
    pathParameters: Object.keys(pathParameters).length > 0 ? pathParameters : null,
    stageVariables: null,
    body: hasBody ? request.body.toString('utf8') : null,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: request.method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: apiKey ?? null,
        apiKeyId: apiKey ? 'local-key' : null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp,
        user: null,
        userAgent: headers['user-agent'] ?? null,
        userArn: null,
      },
      path: `/v1${request.url.pathname}`,
      stage: 'v1',
      requestId: randomUUID(),
      requestTimeEpoch: now,
      resourceId: 'local',
      resourcePath: resource,
    },
  };
}

/**
 * Each API function's Lambda handler over local dependencies, built once per function as its container
 * would (tests drive them directly with API Gateway-shaped events).
 */
export function lambdaHandlers(depsFor: LocalApiOptions['depsFor']): LocalFunctions {
  const wired = new Map<ApiFunction, WiredFunction>();
  const handlerOf = (fn: ApiFunction) => {
    let function_ = wired.get(fn);
    if (!function_) {
      const { settings, ...base } = depsFor(fn);
      function_ = HANDLER_FACTORIES[fn](base, settings);
      wired.set(fn, function_);
    }
    return function_.handler;
  };
  return Object.assign(handlerOf, {
    refreshModels: async () => {
      await Promise.all([...wired.values()].map((function_) => function_.models?.refreshNow()));
    },
  });
}

/** Each function's handler (built on first use), and a way to make all of them re-check the model now. */
export type LocalFunctions = ((fn: ApiFunction) => LambdaHandler) & { refreshModels(): Promise<void> };

export async function startLocalApi(options: LocalApiOptions): Promise<LocalApi> {
  const handlerFor = lambdaHandlers(options.depsFor);
  // One bucket per API key, as a usage plan throttles each key; open routes (health) have their own, so a
  // keyless flood cannot starve keyed callers.
  const buckets = new Map<string, TokenBucket>();
  const bucketFor = (key: string) => {
    let bucket = buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(options.rateLimit?.requestsPerSecond ?? 100, options.rateLimit?.burst ?? 200);
      buckets.set(key, bucket);
    }
    return bucket;
  };
  const bodies = new BodyBudget(options.maxBufferedBodyBytes ?? 32 * 1024 * 1024);
  const maxBody = options.maxBodyBytes ?? 10 * 1024 * 1024;
  const requestLimit = options.lambdaRequestBytes ?? LAMBDA_PAYLOAD_BYTES;
  const responseLimit = options.lambdaResponseBytes ?? LAMBDA_PAYLOAD_BYTES;
  const timeoutMs = options.integrationTimeoutMs ?? INTEGRATION_TIMEOUT_MS;

  const server: Server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      const method = request.method ?? 'GET';
      const matched = matchRoute(method, url.pathname);
      // API Gateway answers an unknown path or method like this, before any key check.
      if (!matched) return send(response, 403, JSON.stringify({ message: 'Missing Authentication Token' }));
      const apiKey = request.headers['x-api-key'];
      const key = Array.isArray(apiKey) ? apiKey[0] : apiKey;
      if (matched.route.apiKeyRequired && key !== options.apiKey) {
        return send(response, 403, JSON.stringify({ message: 'Forbidden' }));
      }
      if (!bucketFor(matched.route.apiKeyRequired ? `key:${key}` : 'open').take())
        return send(response, 429, JSON.stringify({ message: 'Too Many Requests' }));
      if (matched.undecodable) {
        request.resume();
        return send(
          response,
          400,
          JSON.stringify({
            error: 'validation_error',
            message: `path field '${matched.undecodable}' is not valid percent-encoded UTF-8`,
            field: matched.undecodable,
            in: 'path',
          }),
        );
      }
      const declared = Number(request.headers['content-length'] ?? 0);
      if (declared > maxBody) {
        // Refused on the declared size, before a byte is buffered; the rest is drained, not kept.
        request.resume();
        return send(response, 413, JSON.stringify({ message: 'Request Entity Too Large' }), {
          connection: 'close',
        });
      }
      let body: Buffer;
      // A chunked body's size is unknown until read: it may take the whole limit.
      const chunked = request.headers['transfer-encoding'] !== undefined;
      const reserved = await bodies.reserve(declared > 0 ? declared : chunked ? maxBody : 0);
      try {
        body = await readBody(request, maxBody);
      } catch (error) {
        if (error instanceof PayloadTooLarge) {
          return send(response, 413, JSON.stringify({ message: 'Request Entity Too Large' }), {
            connection: 'close',
          });
        }
        throw error;
      } finally {
        bodies.release(reserved);
      }
      const event = apiGatewayEvent(
        { method, url, headers: request.headers, body },
        matched.route.path,
        matched.pathParameters,
        key,
        request.socket.remoteAddress ?? '127.0.0.1',
      );
      // Lambda gets the event as JSON: serialised here too, so the handler sees exactly that (own properties
      // only, `__proto__` a plain key). Over Lambda's payload limit, API Gateway answers 413.
      const serialised = JSON.stringify(event);
      if (Buffer.byteLength(serialised) > requestLimit) {
        return send(response, 413, JSON.stringify({ message: 'Request Too Long' }));
      }
      let result: APIGatewayProxyResult;
      try {
        result = await withinIntegrationTimeout(
          // The function's own timeout is 29 s too (infra/constructs/serving-api.ts), whatever the gateway waits.
          handlerFor(matched.route.fn)(
            JSON.parse(serialised) as APIGatewayProxyEvent,
            localLambdaContext(`mappa-api-${matched.route.fn}`, INTEGRATION_TIMEOUT_MS),
          ),
          timeoutMs,
        );
      } catch (error) {
        if (error instanceof IntegrationTimeout) {
          return send(response, 504, JSON.stringify({ message: 'Endpoint request timed out' }));
        }
        throw error;
      }
      // A response over Lambda's payload limit fails the invocation; API Gateway answers 502.
      if (Buffer.byteLength(JSON.stringify(result)) > responseLimit) {
        process.stderr.write(
          `local API: ${matched.route.operationId} returned more than Lambda's ${responseLimit}-byte response limit\n`,
        );
        return send(response, 502, JSON.stringify({ message: 'Internal server error' }));
      }
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
      send(response, result.statusCode, result.body, headers);
    })().catch((error: unknown) => {
      // Only reached if the adapter itself fails; handlers turn their own errors into responses.
      if (!response.headersSent) send(response, 502, JSON.stringify({ message: 'Internal server error' }));
      process.stderr.write(
        `local API adapter error: ${error instanceof Error ? error.message : String(error)}\n`,
      );
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    refreshModels: () => handlerFor.refreshModels(),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
