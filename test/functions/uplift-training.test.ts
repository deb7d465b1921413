import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  artifactKey,
  type ExperimentUpliftSummary,
  type ModelManifest,
  MANIFEST_KEY,
} from '../../shared/contracts/artifacts';
import { SeededRandom } from '../../shared/data/random';
import type { LocalApi } from '../../shared/local/api-server';
import { createExperiment, recordExposure, recordOutcomes } from '../../shared/marketing/experiment-store';
import type { ExperimentDefinition } from '../../shared/marketing/experiments';
import { initBackend } from '../../shared/ml/backend';
import { createLogger } from '../../shared/observability/logger';
import { SYNTHETIC_PRESETS, SyntheticWorld } from '../../shared/synthetic/generator';
import { runTraining } from '../../shared/training/run-training';
import { call, dropWorld, startTestApi } from '../support/api';
import { type IngestionStack, startIngestionStack, TEST_NOW } from '../support/ingestion';

/**
 * The training job fits an uplift model for each running experiment (variant vs control, converted or not,
 * features as of the experiment's start) and the API serves each user's score. Users with a long history
 * respond to the treatment here; the others do not.
 */
describe('uplift of running experiments, fitted by the training job and served by the API', () => {
  let env: IngestionStack;
  let api: LocalApi;
  let manifest: ModelManifest;
  const heavyUsers = new Set<string>();

  const definition = (experimentId: string): ExperimentDefinition =>
    ({
      experimentId,
      variants: [
        { name: 'control', strategy: 'popular', weight: 1 },
        { name: 'model', strategy: 'personalized', weight: 1 },
      ],
      costPerContact: 0,
      minimumDetectableLift: 0.1,
    }) as ExperimentDefinition;

  beforeAll(async () => {
    await initBackend({ force: 'wasm' });
    env = await startIngestionStack();
    const world = new SyntheticWorld({
      ...SYNTHETIC_PRESETS.tiny,
      users: 400,
      items: 60,
      interactions: 8_000,
    });
    await dropWorld(env, world);
    const counts = new Map<string, number>();
    for (const row of world.interactions()) counts.set(row.userId, (counts.get(row.userId) ?? 0) + 1);
    const median = [...counts.values()].sort((a, b) => a - b)[Math.floor(counts.size / 2)] as number;
    for (const [userId, count] of counts) if (count > median) heavyUsers.add(userId);

    const experiments = { client: env.stack.dynamoDb, table: env.stack.names.tables.experiments };
    // Started before the data ends: the features the model learns from are the users' history before it.
    await createExperiment(experiments, definition('newsletter'), new Date((TEST_NOW - 86_400) * 1000));
    await createExperiment(experiments, definition('tiny-test'), new Date((TEST_NOW - 86_400) * 1000));
    const random = new SeededRandom(5);
    for (const userId of counts.keys()) {
      const treated = random.next() < 0.5;
      await recordExposure(experiments, 'newsletter', userId, treated ? 'model' : 'control');
      const rate = 0.15 + (treated && heavyUsers.has(userId) ? 0.5 : 0);
      if (random.next() < rate) {
        await recordOutcomes(experiments, 'newsletter', userId, { clicks: 0, conversions: 1, revenue: 10 });
      }
    }
    for (const userId of [...counts.keys()].slice(0, 20)) {
      await recordExposure(experiments, 'tiny-test', userId, 'model');
    }
    const report = await runTraining(
      {
        ...env.stack.clientsFor('train'),
        bucket: env.bucket,
        userVectorsTable: env.stack.names.tables.userVectors,
        ledgerTable: env.stack.names.tables.ledger,
        experimentsTable: env.stack.names.tables.experiments,
        log: createLogger({ service: 'test', level: 'silent' }),
      },
      {
        config: { embeddingDim: 16, epochs: 2, batchSize: 128 },
        gate: { minLiftOverPopularity: -1, maxRegression: 1 },
      },
    );
    if (!report.promoted) throw new Error('the lenient gate should promote the model');
    manifest = JSON.parse(await env.readText(MANIFEST_KEY)) as ModelManifest;
    api = await startTestApi(env);
  });
  afterAll(async () => {
    await api?.close();
    await env.stop();
  });

  it('keeps one summary per running experiment with the model, and says why one has no model', async () => {
    const summaries = JSON.parse(
      await env.readText(artifactKey(manifest.version, 'uplift')),
    ) as ExperimentUpliftSummary[];
    const newsletter = summaries.find((entry) => entry.experimentId === 'newsletter');
    expect(newsletter).toMatchObject({ trained: true, control: 'control', users: 400 });
    expect(newsletter?.qini).toBeGreaterThan(0);
    expect(newsletter?.ate?.difference).toBeGreaterThan(0.1);
    const tiny = summaries.find((entry) => entry.experimentId === 'tiny-test');
    expect(tiny).toMatchObject({ trained: false, users: 20 });
    expect(tiny?.reason).toMatch(/20 exposed users with history; at least 200 are needed/);
  });

  it("serves each user's uplift and decile; the users who respond rank higher", async () => {
    const deciles = { heavy: [] as number[], light: [] as number[] };
    for (const userId of [...heavyUsers].slice(0, 40)) {
      const response = await call<{ uplift: number; decile: number; experimentUsers: number }>(
        api.url,
        'getUserUplift',
        'GET',
        `/v1/users/${userId}/uplift?experiment=newsletter`,
      );
      expect(response.status).toBe(200);
      expect(response.body.experimentUsers).toBe(400);
      deciles.heavy.push(response.body.decile);
    }
    const item = await env.stack.dynamoDb.send(
      new GetItemCommand({
        TableName: env.stack.names.tables.userVectors,
        Key: { user_id: { S: [...heavyUsers][0] as string }, model_version: { S: manifest.version } },
      }),
    );
    expect(item.Item?.uplift?.M?.newsletter?.M?.decile?.N).toMatch(/^([1-9]|10)$/);
    const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
    expect(mean(deciles.heavy)).toBeLessThan(5.5); // decile 1 = contact first
  });

  it('answers 404 naming the query field for an experiment the model has no uplift for, and 503 with the reason for one too small', async () => {
    const userId = [...heavyUsers][0] as string;
    const unknown = await call(
      api.url,
      'getUserUplift',
      'GET',
      `/v1/users/${userId}/uplift?experiment=never-ran`,
    );
    expect(unknown).toMatchObject({
      status: 404,
      body: { error: 'experiment_not_scored', field: 'experiment' },
    });
    const small = await call<{ message: string }>(
      api.url,
      'getUserUplift',
      'GET',
      `/v1/users/${userId}/uplift?experiment=tiny-test`,
    );
    expect(small.status).toBe(503);
    expect(small.body.message).toMatch(/at least 200 are needed/);
    const missing = await call(api.url, 'getUserUplift', 'GET', `/v1/users/${userId}/uplift`);
    expect(missing).toMatchObject({ status: 400, body: { field: 'experiment', in: 'query' } });
  });
});
