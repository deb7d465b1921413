import { type LocalApi, startLocalApi } from '../../../shared/local/api-server';
import { localApiDeps } from '../../../shared/local/api-wiring';
import { createLogger } from '../../../shared/observability/logger';
import { apiDeployable } from '../../../shared/resources/deployables';
import type { ApiFunction } from '../../../shared/serving/routes';
import { useTestStack } from '../../support/local-stack';

const API_KEY = 'limits-test-key';
const quiet = createLogger({ service: 'test', level: 'silent' });

/** API Gateway's and Lambda's limits as `mappa serve` enforces them: what AWS refuses, local refuses. */
describe('API Gateway and Lambda limits in the local API', () => {
  const testStack = useTestStack();

  async function withApi(
    options: Partial<Parameters<typeof startLocalApi>[0]>,
    test: (api: LocalApi) => Promise<void>,
  ): Promise<void> {
    const api = await startLocalApi({
      port: 0,
      apiKey: API_KEY,
      depsFor: localApiDeps(testStack(), { log: quiet, writeMetrics: () => undefined }),
      ...options,
    });
    try {
      await test(api);
    } finally {
      await api.close();
    }
  }

  const postEvents = (api: LocalApi, bytes: number) =>
    fetch(`${api.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
      body: JSON.stringify({ userId: 'u1', itemId: 'i1', eventType: 'view', note: 'x'.repeat(bytes) }),
    });

  it('refuses a body over API Gateway’s 10 MB with 413', () =>
    withApi({}, async (api) => {
      const response = await postEvents(api, 10 * 1024 * 1024 + 1);
      expect(response.status).toBe(413);
      expect(await response.json()).toEqual({ message: 'Request Entity Too Large' });
    }));

  it('refuses a body under 10 MB whose Lambda event is over 6 MB with 413, before the function runs', () =>
    withApi({}, async (api) => {
      const response = await postEvents(api, 7 * 1024 * 1024);
      expect(response.status).toBe(413);
      expect(await response.json()).toEqual({ message: 'Request Too Long' });
      expect(
        testStack()
          .account.recorder?.usage()
          .some((entry) => entry.deployable === 'api-events'),
      ).toBe(false);
    }));

  it('answers 502 when a function returns more than Lambda’s response limit', () =>
    withApi({ lambdaResponseBytes: 40 }, async (api) => {
      const response = await fetch(`${api.url}/v1/health`);
      expect(response.status).toBe(502);
      expect(await response.json()).toEqual({ message: 'Internal server error' });
    }));

  it('answers 504 when a function outlasts the integration timeout', async () => {
    // S3 answers slowly (a fault the emulator cannot produce): the manifest read outlasts the timeout.
    const slow = (fn: ApiFunction) => {
      const { s3 } = testStack().account.newClientsFor(apiDeployable(fn));
      s3.middlewareStack.add(
        (next) => async (args) => {
          await new Promise((resolve) => setTimeout(resolve, 400));
          return next(args);
        },
        { step: 'initialize', name: 'slow-s3' },
      );
      return s3;
    };
    const base = localApiDeps(testStack(), { log: quiet, writeMetrics: () => undefined });
    await withApi(
      { integrationTimeoutMs: 100, depsFor: (fn) => ({ ...base(fn), s3: slow(fn) }) },
      async (api) => {
        const response = await fetch(`${api.url}/v1/model`, { headers: { 'x-api-key': API_KEY } });
        expect(response.status).toBe(504);
        expect(await response.json()).toEqual({ message: 'Endpoint request timed out' });
      },
    );
  });
});
