import fc from 'fast-check';
import { apiGatewayEvent, type LocalApi, lambdaHandlers, startLocalApi } from '../../shared/local/api-server';
import { localApiDeps } from '../../shared/local/api-wiring';
import { localLambdaContext } from '../../shared/local/lambda-context';
import { initBackend } from '../../shared/ml/backend';
import { createLogger } from '../../shared/observability/logger';
import { API_ROUTES, type ApiRoute } from '../../shared/serving/routes';
import { API_KEY, dropWorld, testWorld, trainQuickModel } from '../support/api';
import { type IngestionStack, startIngestionStack, TEST_NOW } from '../support/ingestion';

const quiet = createLogger({ service: 'test', level: 'silent' });
const RUNS = 5_000;

/** Strings that broke the API before, plus whatever fast-check makes of them. */
const nasty = fc.oneof(
  fc.constantFrom(
    '%zz',
    '%E9t%E9',
    '%C0%AF',
    '__proto__',
    'constructor',
    'toString',
    '\u0000',
    '\ufffd',
    'a'.repeat(257),
    'u1',
    'i1',
    '',
    ' ',
    '-1',
    '1e309',
    'NaN',
    'null',
    '[]',
    '{}',
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
);
const parameterName = fc.oneof(
  fc.constantFrom(
    'limit',
    'exclude_seen',
    'category',
    'min_price',
    'max_price',
    'experiment',
    'include',
    'target',
    'constructor',
    '__proto__',
    'toString',
    'hasOwnProperty',
  ),
  fc.string({ maxLength: 12 }),
);
const body = fc.oneof(
  fc.constant(undefined),
  fc.json({ maxDepth: 3 }),
  fc.string({ maxLength: 60 }),
  fc
    .record({
      userId: nasty,
      itemId: nasty,
      eventType: fc.oneof(fc.constantFrom('view', 'purchase', 'rating'), nasty),
      timestamp: fc.oneof(fc.integer(), fc.double(), nasty),
      value: fc.oneof(fc.double(), nasty),
    })
    .map((event) => JSON.stringify(event)),
  fc
    .record({ itemIds: fc.array(nasty, { maxLength: 5 }), excludeSeen: fc.oneof(fc.boolean(), nasty) })
    .map((request) => JSON.stringify(request)),
  fc
    .record({ name: nasty, variants: fc.jsonValue({ maxDepth: 2 }), primaryMetric: nasty })
    .map((definition) => JSON.stringify(definition)),
);

interface GeneratedRequest {
  readonly route: ApiRoute;
  readonly parameters: string[];
  readonly query: [string, string][];
  readonly body: string | undefined;
}

const request: fc.Arbitrary<GeneratedRequest> = fc.record({
  route: fc.constantFrom(...API_ROUTES),
  parameters: fc.array(nasty, { minLength: 1, maxLength: 1 }),
  query: fc.array(fc.tuple(parameterName, nasty), { maxLength: 4 }),
  body: body as fc.Arbitrary<string | undefined>,
});

/** The concrete path: path parameters percent-encoded (or raw, for the ones that are not valid encodings). */
function pathOf(route: ApiRoute, value: string): string {
  const encoded = /^%[0-9A-Za-z]{2}/.test(value) ? value : encodeURIComponent(value);
  return route.path.replace(/\{[^}]+\}/, encoded === '' ? 'x' : encoded);
}

/** Asserts the API's contract for any input: no 5xx, a JSON body, and a 400 names the offending field. */
function expectWellFormed(status: number, text: string, label: string): void {
  if (status >= 500) throw new Error(`${label} answered ${status}: ${text}`);
  const parsed = JSON.parse(text) as { field?: unknown; message?: unknown };
  if (status === 400) {
    if (typeof parsed.field !== 'string' || parsed.field === '')
      throw new Error(`${label}: a 400 without the field: ${text}`);
    if (typeof parsed.message !== 'string' || !parsed.message.includes(parsed.field))
      throw new Error(`${label}: a 400 whose message does not name '${parsed.field}': ${text}`);
  }
}

describe('the API under generated input', () => {
  let env: IngestionStack;

  beforeAll(async () => {
    await initBackend({ force: 'wasm' });
    env = await startIngestionStack();
    await dropWorld(env, testWorld());
    await trainQuickModel(env, new Date((TEST_NOW - 86_400) * 1000));
  });
  afterAll(() => env.stop());

  it(`the Lambda handlers answer ${RUNS.toLocaleString('en-US')} API Gateway-shaped requests without a 5xx`, async () => {
    const handlerFor = lambdaHandlers(
      localApiDeps(env.stack, {
        log: quiet,
        writeMetrics: () => undefined,
        now: () => new Date(TEST_NOW * 1000),
      }),
    );
    let statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (generated) => {
        const url = new URL(`http://localhost${pathOf(generated.route, generated.parameters[0] as string)}`);
        for (const [name, value] of generated.query) url.searchParams.append(name, value);
        const name = /\{([^}]+)\}/.exec(generated.route.path)?.[1];
        const event = apiGatewayEvent(
          {
            method: generated.route.method,
            url,
            headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
            body: Buffer.from(generated.route.method === 'POST' ? (generated.body ?? '') : ''),
          },
          generated.route.path,
          name ? { [name]: generated.parameters[0] as string } : {},
          API_KEY,
          '127.0.0.1',
        );
        // As Lambda receives it: JSON, so `__proto__` and `constructor` are plain keys.
        const result = await handlerFor(generated.route.fn)(
          JSON.parse(JSON.stringify(event)),
          localLambdaContext(`mappa-api-${generated.route.fn}`, 29_000),
        );
        statuses.set(result.statusCode, (statuses.get(result.statusCode) ?? 0) + 1);
        expectWellFormed(
          result.statusCode,
          result.body,
          `${generated.route.method} ${url.pathname}${url.search}`,
        );
      }),
      { numRuns: RUNS, seed: 20261201 },
    );
    // The generator reaches both answers: plenty of 400s, and requests that pass validation.
    expect(statuses.get(400) ?? 0).toBeGreaterThan(RUNS / 10);
    expect(
      [...statuses].filter(([status]) => status < 300).reduce((sum, [, count]) => sum + count, 0),
    ).toBeGreaterThan(RUNS / 20);
    statuses = new Map();
  });

  describe('through the local API Gateway adapter', () => {
    let api: LocalApi;
    beforeAll(async () => {
      api = await startLocalApi({
        port: 0,
        apiKey: API_KEY,
        depsFor: localApiDeps(env.stack, { log: quiet, writeMetrics: () => undefined }),
      });
    });
    afterAll(() => api.close());

    it.each(['%zz', '%E9t%E9', '%C0%AF'])(
      'answers 400 naming userId for the undecodable path %s',
      async (raw) => {
        const response = await fetch(`${api.url}/v1/users/${raw}/recommendations`, {
          headers: { 'x-api-key': API_KEY },
        });
        expect(response.status).toBe(400);
        expect(await response.json()).toMatchObject({ field: 'userId', in: 'path' });
        // Without a key, the key check comes first, as in API Gateway.
        expect((await fetch(`${api.url}/v1/users/${raw}/recommendations`)).status).toBe(403);
      },
    );

    it.each(['constructor', '__proto__', 'toString'])(
      'answers a query parameter named %s with 400 (or 403 without a key), never 502',
      async (name) => {
        const keyed = await fetch(`${api.url}/v1/users/u1/recommendations?${name}=1`, {
          headers: { 'x-api-key': API_KEY },
        });
        expect(keyed.status).toBe(400);
        expect(await keyed.json()).toMatchObject({ field: name, in: 'query' });
        expect((await fetch(`${api.url}/v1/model?${name}=1`)).status).toBe(403);
      },
    );

    it('throttles per API key: a keyless flood of /v1/health does not use up the keyed callers’ budget', async () => {
      const throttled = await startLocalApi({
        port: 0,
        apiKey: API_KEY,
        depsFor: localApiDeps(env.stack, { log: quiet, writeMetrics: () => undefined }),
        rateLimit: { requestsPerSecond: 1, burst: 5 },
      });
      try {
        const flood = await Promise.all(
          Array.from({ length: 20 }, () => fetch(`${throttled.url}/v1/health`)),
        );
        expect(flood.filter((response) => response.status === 429).length).toBeGreaterThanOrEqual(15);
        const keyed = await fetch(`${throttled.url}/v1/model`, { headers: { 'x-api-key': API_KEY } });
        expect(keyed.status).toBe(200);
      } finally {
        await throttled.close();
      }
    });

    it('rejects an id the ingestion would reject (U+FFFD from Latin-1 bytes, a control character) with 400', async () => {
      for (const userId of ['caf\ufffd', 'tab\there']) {
        const response = await fetch(`${api.url}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
          body: JSON.stringify({ userId, itemId: 'i1', eventType: 'view' }),
        });
        expect(response.status).toBe(400);
        expect(await response.json()).toMatchObject({ field: 'userId', in: 'body' });
      }
    });

    it('queues request bodies beyond its buffering budget instead of holding them all at once', async () => {
      const small = await startLocalApi({
        port: 0,
        apiKey: API_KEY,
        depsFor: localApiDeps(env.stack, { log: quiet, writeMetrics: () => undefined }),
        maxBufferedBodyBytes: 1024 * 1024,
      });
      try {
        // Six 700 KB bodies at once: at most one is buffered at a time, and every one is answered.
        const responses = await Promise.all(
          Array.from({ length: 6 }, () =>
            fetch(`${small.url}/v1/events`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
              body: JSON.stringify({
                userId: 'u1',
                itemId: 'i1',
                eventType: 'view',
                padding: 'x'.repeat(700_000),
              }),
            }),
          ),
        );
        expect(responses.map((response) => response.status)).toEqual([400, 400, 400, 400, 400, 400]);
      } finally {
        await small.close();
      }
    });

    it('refuses an 11 MB body on its declared length with 413, before reading it', async () => {
      const response = await fetch(`${api.url}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
        body: 'x'.repeat(11 * 1024 * 1024),
      });
      expect(response.status).toBe(413);
      expect(await response.json()).toEqual({ message: 'Request Entity Too Large' });
    });
  });
});
