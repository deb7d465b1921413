import { startLocalApi, type LocalApi } from '../../shared/local/api-server';
import { localApiDeps } from '../../shared/local/api-wiring';
import { createLogger } from '../../shared/observability/logger';
import { API_KEY } from '../support/api';
import { type IngestionStack, startIngestionStack } from '../support/ingestion';

/** Error responses (middy's http-error-handler) and CORS headers (middy's http-cors), before any model exists. */
describe('API error responses and CORS', () => {
  let env: IngestionStack;
  let api: LocalApi;

  beforeAll(async () => {
    env = await startIngestionStack();
    api = await startLocalApi({
      port: 0,
      apiKey: API_KEY,
      depsFor: localApiDeps(env.stack, {
        log: createLogger({ service: 'test', level: 'silent' }),
        writeMetrics: () => undefined,
        corsOrigins: ['https://shop.example', 'https://*.preview.example'],
      }),
    });
  });
  afterAll(async () => {
    await api.close();
    await env.stop();
  });

  const get = (path: string, origin?: string) =>
    fetch(`${api.url}${path}`, { headers: { 'x-api-key': API_KEY, ...(origin ? { origin } : {}) } });

  it('answers a refused request with a JSON body, its own headers and the caller’s allowed origin', async () => {
    const response = await get('/v1/users/u1/recommendations', 'https://shop.example');
    expect(response.status).toBe(503);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('retry-after')).toBe('60');
    expect(response.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    expect(response.headers.get('vary')).toContain('Origin');
    expect(await response.json()).toMatchObject({ error: 'model_not_ready' });
  });

  it('names the offending field of a 400 in a JSON body', async () => {
    const response = await get('/v1/users/u1/recommendations?limit=abc', 'https://a.preview.example');
    expect(response.status).toBe(400);
    expect(response.headers.get('access-control-allow-origin')).toBe('https://a.preview.example');
    expect(await response.json()).toMatchObject({ error: 'validation_error', field: 'limit', in: 'query' });
  });

  it('gives no CORS header to an origin that is not allowed, or to a call without one', async () => {
    const foreign = await get('/v1/health', 'https://evil.example');
    expect(foreign.status).toBe(200);
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    const serverToServer = await get('/v1/health');
    expect(serverToServer.headers.get('access-control-allow-origin')).toBeNull();
  });
});
