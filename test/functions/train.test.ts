import { type AttributeValue, QueryCommand } from '@aws-sdk/client-dynamodb';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { forEachNeighbour } from '../../shared/data/item-neighbours';
import { initBackend } from '../../shared/ml/backend';
import { createLogger } from '../../shared/observability/logger';
import { s3ModelSource } from '../../shared/serving/model-store';
import { SYNTHETIC_PRESETS, SyntheticWorld } from '../../shared/synthetic/generator';
import {
  artifactKey,
  completeMarkerKey,
  MANIFEST_KEY,
  type ModelManifest,
} from '../../shared/contracts/artifacts';
import { acquireRunLock, TrainingRunInProgress } from '../../shared/training/run-lock';
import { runTraining, TrainingDeadlineExceeded, type TrainingDeps } from '../../shared/training/run-training';
import { dropWorld } from '../support/api';
import { type IngestionStack, startIngestionStack } from '../support/ingestion';

const quick = { config: { embeddingDim: 16, epochs: 2, batchSize: 128 } };

describe('training job on the embedded stack', () => {
  let env: IngestionStack;
  let deps: TrainingDeps;

  beforeAll(async () => {
    await initBackend({ force: 'wasm' });
    env = await startIngestionStack();
    const world = new SyntheticWorld({ ...SYNTHETIC_PRESETS.tiny, users: 80, interactions: 3_000 });
    await dropWorld(env, world);
    deps = {
      ...env.stack.clientsFor('train'),
      bucket: env.bucket,
      userVectorsTable: env.stack.names.tables.userVectors,
      ledgerTable: env.stack.names.tables.ledger,
      log: createLogger({ service: 'test', level: 'silent' }),
    };
  });
  afterAll(() => env.stop());

  const manifest = async () => JSON.parse(await env.readText(MANIFEST_KEY)) as ModelManifest;

  it('trains from curated data, writes versioned artifacts and user vectors, then the manifest', async () => {
    // A lenient gate: this test is about the pipeline, not about quality on 80 synthetic users.
    const report = await runTraining(deps, {
      ...quick,
      gate: { minLiftOverPopularity: -1, maxRegression: 1 },
    });

    expect(report.promoted).toBe(true);
    expect((await manifest()).version).toBe(report.version);
    for (const file of [
      'model',
      'weights',
      'itemVectors',
      'itemIds',
      'userIds',
      'baselines',
      'metrics',
      'trainingCurves',
    ] as const) {
      expect(await env.keys(artifactKey(report.version, file))).toEqual([artifactKey(report.version, file)]);
    }
    // The synthetic shop never changes a price: the pricing artifact says so instead of inventing elasticities.
    expect(JSON.parse(await env.readText(artifactKey(report.version, 'pricing')))).toEqual({
      trained: false,
      reason: expect.stringMatching(/price ever moved|no purchase events with a value/),
    });
    const model = JSON.parse(await env.readText(artifactKey(report.version, 'model')));
    expect(model.shape).toMatchObject({ embeddingDim: 16, numCategories: 8 });
    expect(Object.keys(report.metrics).sort()).toEqual(['item_knn', 'model', 'popularity', 'trending']);
    const vectors = await env.stack.dynamoDb.send(
      new QueryCommand({
        TableName: env.stack.names.tables.userVectors,
        KeyConditionExpression: 'user_id = :user AND model_version = :version',
        ExpressionAttributeValues: { ':user': { S: 'u1' }, ':version': { S: report.version } } as Record<
          string,
          AttributeValue
        >,
      }),
    );
    const vector = new Float32Array((vectors.Items?.[0]?.vector?.B as Uint8Array).slice().buffer);
    expect(vector).toHaveLength(17);
    expect(vector[16]).toBe(1);

    // Serving reads the same artifacts and scores with the precomputed vector.
    const served = await s3ModelSource(env.stack.s3, env.bucket).load(await manifest());
    expect(served.items.size).toBe(model.shape.numItems);
    const top = served.items.topK(vector, 5);
    expect(top).toHaveLength(5);
    expect(top[0]?.score).toBeGreaterThanOrEqual(top[4]?.score ?? Number.POSITIVE_INFINITY);
    expect(served.popularity.length).toBeGreaterThan(0);
    // The version is marked complete after every artifact, before the manifest points at it.
    expect(await env.keys(completeMarkerKey(report.version))).toEqual([completeMarkerKey(report.version)]);
  });

  it('serves item-kNN neighbours from item-neighbours.bin, and still from baselines.json for older versions', async () => {
    const current = await manifest();
    const source = s3ModelSource(env.stack.s3, env.bucket);
    const served = await source.load(current);
    expect(served.itemKnn.items).toBe(served.items.size);
    expect(served.itemKnn.k).toBe(50);
    const listOf = (table: typeof served.itemKnn, item: number) => {
      const out: [number, number][] = [];
      forEachNeighbour(table, item, (id, similarity) => {
        out.push([id, similarity]);
      });
      return out;
    };
    const withNeighbours = [...Array(served.items.size).keys()].find(
      (item) => listOf(served.itemKnn, item).length > 0,
    );
    expect(withNeighbours).toBeDefined();
    // A version trained before the binary file: the neighbours inside baselines.json, no item-neighbours.bin.
    const baselinesKey = artifactKey(current.version, 'baselines');
    const baselines = JSON.parse(await env.readText(baselinesKey)) as Record<string, unknown>;
    const legacy = [...Array(served.items.size).keys()].map((item) => listOf(served.itemKnn, item));
    await env.stack.s3.send(
      new PutObjectCommand({
        Bucket: env.bucket,
        Key: baselinesKey,
        Body: JSON.stringify({ ...baselines, itemKnn: legacy }),
      }),
    );
    await env.stack.s3.send(
      new DeleteObjectCommand({ Bucket: env.bucket, Key: artifactKey(current.version, 'itemNeighbours') }),
    );
    const older = await source.load(current);
    expect(listOf(older.itemKnn, withNeighbours as number)).toEqual(
      listOf(served.itemKnn, withNeighbours as number),
    );
  });

  it('keeps serving the current model when the gate refuses the new one, and says why', async () => {
    const current = await manifest();

    const report = await runTraining(deps, {
      ...quick,
      gate: { minLiftOverPopularity: 100, maxRegression: 0 },
    });

    expect(report.promoted).toBe(false);
    expect(report.reasons[0]).toMatch(/^does not beat popularity/);
    // Production is measured again on this run's split, not taken from its own manifest.
    expect(report.reasons).toContainEqual(
      expect.stringMatching(
        new RegExp(`^production ${current.version} re-scored on this run's test split: NDCG@10 \\d\\.\\d{4}`),
      ),
    );
    expect(await manifest()).toEqual(current);
    expect(JSON.parse(await env.readText(report.report))).toMatchObject({
      promoted: false,
      version: report.version,
    });
  });

  it('leaves the manifest unchanged and removes its artifacts when a run dies mid-way', async () => {
    const current = await manifest();
    const earlierVersions = (await env.keys('models/')).map((key) => key.split('/')[1]);
    const name = 'fail-metrics-upload';
    deps.s3.middlewareStack.add(
      (next, context) => async (args) => {
        const key = (args.input as { Key?: string }).Key ?? '';
        if (context.commandName === 'PutObjectCommand' && key.endsWith('/metrics.json'))
          throw new Error('injected: task stopped');
        return next(args);
      },
      { step: 'initialize', name },
    );
    try {
      await expect(
        runTraining(deps, { ...quick, gate: { minLiftOverPopularity: -1, maxRegression: 1 } }),
      ).rejects.toThrow('injected: task stopped');
    } finally {
      deps.s3.middlewareStack.remove(name);
    }
    expect(await manifest()).toEqual(current);
    // Nothing of the failed version is left to be mistaken for a model.
    const versions = (await env.keys('models/')).map((key) => key.split('/')[1]);
    expect(new Set(versions)).toEqual(new Set([current.version, 'manifest.json', ...earlierVersions]));
  });

  it('does not start while another run holds the lock, and writes nothing', async () => {
    const before = await env.keys('models/');
    const other = await acquireRunLock(deps.dynamoDb, deps.ledgerTable, 'v-other', {
      now: new Date(),
      holdSeconds: 600,
    });
    try {
      await expect(runTraining(deps, quick)).rejects.toThrow(TrainingRunInProgress);
    } finally {
      await other.release();
    }
    expect(await env.keys('models/')).toEqual(before);
  });

  it('stops at its maximum duration, fails, and leaves serving and models/ as they were', async () => {
    const before = await env.keys('models/');
    const current = await manifest();
    await expect(runTraining(deps, { ...quick, maxRunSeconds: 0 })).rejects.toThrow(TrainingDeadlineExceeded);
    expect(await manifest()).toEqual(current);
    expect(await env.keys('models/')).toEqual(before);
  });
});
