import { initBackend } from '../../shared/ml/backend';
import { createLogger } from '../../shared/observability/logger';
import { MANIFEST_KEY, type ModelManifest } from '../../shared/contracts/artifacts';
import { runTraining } from '../../shared/training/run-training';
import { call, dropWorld, startTestApi, testWorld, trainQuickModel } from '../support/api';
import { startIngestionStack, TEST_NOW } from '../support/ingestion';

/** A first deploy whose first model does not pass the quality gate still answers, with the baselines. */
describe('before any model passes the quality gate', () => {
  it('serves the popularity and item-kNN baselines as fallback, then the first model that passes', async () => {
    await initBackend({ force: 'wasm' });
    const env = await startIngestionStack();
    const quiet = createLogger({ service: 'test', level: 'silent' });
    const api = await startTestApi(env, { modelRecheckSeconds: 1 });
    try {
      await dropWorld(env, testWorld());
      // Act 1: a first run the gate refuses (no model could beat popularity by 100×).
      const refused = await runTraining(
        {
          ...env.stack.clientsFor('train'),
          bucket: env.bucket,
          userVectorsTable: env.stack.names.tables.userVectors,
          ledgerTable: env.stack.names.tables.ledger,
          log: quiet,
          now: () => new Date((TEST_NOW - 2 * 86_400) * 1000),
        },
        {
          config: { embeddingDim: 16, epochs: 2, batchSize: 128 },
          gate: { minLiftOverPopularity: 100, maxRegression: 0 },
        },
      );
      expect(refused.promoted).toBe(false);
      expect(refused.reasons).toContain(
        "no model has passed the gate yet: the API serves this run's popularity and item-kNN baselines (strategy 'fallback') until one does",
      );
      const baselines = JSON.parse(await env.readText(MANIFEST_KEY)) as ModelManifest;
      expect(baselines).toMatchObject({ version: refused.version, serving: 'baselines' });

      // Assess 1: no 503; popularity for everyone, item-kNN neighbours for similar items.
      const model = await call(api.url, 'getModel', 'GET', '/v1/model');
      expect(model).toMatchObject({ status: 200, body: { version: refused.version, serving: 'baselines' } });
      const recommended = await call<{ strategy: string; items: unknown[] }>(
        api.url,
        'getRecommendations',
        'GET',
        '/v1/users/u1/recommendations?limit=5',
      );
      expect(recommended).toMatchObject({ status: 200, body: { strategy: 'fallback' } });
      expect(recommended.body.items).toHaveLength(5);
      const similar = await call<{ items: { score: number }[] }>(
        api.url,
        'getSimilarItems',
        'GET',
        '/v1/items/i1/similar',
      );
      expect(similar.status).toBe(200);
      for (const item of similar.body.items) expect(item.score).toBeGreaterThan(0);

      // Act 2 / Assess 2: a run that passes replaces the baselines; the gate had no model to compare with.
      const promoted = await trainQuickModel(env, new Date((TEST_NOW - 86_400) * 1000));
      expect(promoted.promoted).toBe(true);
      expect(promoted.reasons).toContain('no model is in production yet');
      const manifest = JSON.parse(await env.readText(MANIFEST_KEY)) as ModelManifest;
      expect(manifest.version).toBe(promoted.version);
      expect(manifest.serving).toBeUndefined();
      // Every function re-checks the manifest (as after its re-check interval) and serves the new model.
      await api.refreshModels();
      const personal = await call<{ modelVersion: string }>(
        api.url,
        'getRecommendations',
        'GET',
        '/v1/users/u1/recommendations',
      );
      expect(personal).toMatchObject({
        status: 200,
        body: { modelVersion: promoted.version, strategy: 'personalized' },
      });
    } finally {
      await api.close();
      await env.stop();
    }
  });
});
