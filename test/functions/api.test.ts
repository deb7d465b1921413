import { outputLinesDuring } from '../support/output-lines';
import { startLocalApi, type LocalApi } from '../../shared/local/api-server';
import { localApiDeps } from '../../shared/local/api-wiring';
import { initBackend } from '../../shared/ml/backend';
import { createLogger } from '../../shared/observability/logger';
import { exportRecommendations } from '../../shared/serving/batch-export';
import { PropensityScorer } from '../../shared/marketing/propensity-model';
import { s3ModelSource } from '../../shared/serving/model-store';
import { API_EVENTS_FOLDER } from '../../shared/resources/definitions';
import type { ApiFunction } from '../../shared/serving/routes';
import { apiDeployable } from '../../shared/resources/deployables';
import type { SyntheticWorld } from '../../shared/synthetic/generator';
import { MANIFEST_KEY, type ModelManifest, propensityModelKey } from '../../shared/contracts/artifacts';
import { API_KEY, call, dropWorld, testWorld, trainQuickModel } from '../support/api';
import { type IngestionStack, startIngestionStack, TEST_NOW } from '../support/ingestion';

type Recommendations = {
  userId: string;
  modelVersion: string;
  strategy: string;
  items: { itemId: string; score: number; reason?: string; reasonItemId?: string }[];
};
type ErrorBody = { error: string; message: string; field?: string; in?: string };

const quiet = createLogger({ service: 'test', level: 'silent' });
/** The model is trained "a month before now", so events posted "now" are newer than it. */
const TRAINED_AT = new Date((TEST_NOW - 30 * 86_400) * 1000);

describe('recommendation API on the embedded stack', () => {
  let env: IngestionStack;
  let api: LocalApi;
  let world: SyntheticWorld;
  const metricLines: string[] = [];

  const get = <T = Record<string, unknown>>(operationId: string, path: string, apiKey?: string | null) =>
    call<T>(api.url, operationId, 'GET', path, apiKey === undefined ? {} : { apiKey });
  const post = <T = Record<string, unknown>>(operationId: string, path: string, body: unknown) =>
    call<T>(api.url, operationId, 'POST', path, { body });
  const recommendations = (userId: string, query = '') =>
    get<Recommendations>(
      'getRecommendations',
      `/v1/users/${encodeURIComponent(userId)}/recommendations${query}`,
    );
  const recentOf = async (userId: string) =>
    ((await env.featureStore.users.get(userId))?.recent ?? []).map((entry) => entry.item_id);
  const category = (itemId: string) => world.items.find((item) => item.itemId === itemId)?.category;
  const price = (itemId: string) => world.items.find((item) => item.itemId === itemId)?.price ?? -1;

  beforeAll(async () => {
    await initBackend({ force: 'wasm' });
    env = await startIngestionStack();
    world = testWorld();
    await dropWorld(env, world);
    api = await startLocalApi({
      port: 0,
      apiKey: API_KEY,
      depsFor: localApiDeps(env.stack, {
        modelRecheckSeconds: 1,
        log: quiet,
        now: () => new Date(TEST_NOW * 1000),
        writeMetrics: (line) => metricLines.push(line),
      }),
      rateLimit: { requestsPerSecond: 10_000, burst: 10_000 },
    });
  });
  afterAll(async () => {
    await api.close();
    await env.stop();
  });

  describe('before the first model is trained', () => {
    it('answers 503 with a clear message on every model-backed route', async () => {
      for (const response of [
        await recommendations('u1'),
        await post('rankItems', '/v1/users/u1/rank', { itemIds: ['i1'] }),
        await get('getSimilarItems', '/v1/items/i1/similar'),
        await get('getModel', '/v1/model'),
        await get('getSegments', '/v1/segments'),
        await get('getUserSegment', '/v1/users/u1/segment'),
      ]) {
        expect(response.status).toBe(503);
        expect(response.body).toMatchObject({ error: 'model_not_ready' });
        expect(JSON.stringify(response.body)).toMatch(/No model has been trained yet/);
        expect(response.headers.get('retry-after')).toBe('60');
      }
    });

    it('reports health without an API key, waiting for a model', async () => {
      const health = await get('getHealth', '/v1/health', null);
      expect(health).toMatchObject({
        status: 200,
        body: { status: 'waiting_for_model', modelVersion: null },
      });
    });
  });

  describe('with a trained model', () => {
    let manifest: ModelManifest;

    beforeAll(async () => {
      await trainQuickModel(env, TRAINED_AT);
      manifest = JSON.parse(await env.readText(MANIFEST_KEY)) as ModelManifest;
      await api.refreshModels();
    });

    it('requires the API key like API Gateway, and answers unknown routes like it', async () => {
      expect(await get('getRecommendations', '/v1/users/u1/recommendations', null)).toMatchObject({
        status: 403,
        body: { message: 'Forbidden' },
      });
      expect(await get('getRecommendations', '/v1/users/u1/recommendations', 'wrong-key')).toMatchObject({
        status: 403,
      });
      expect(await call(api.url, null, 'GET', '/v1/nothing-here')).toMatchObject({
        status: 403,
        body: { message: 'Missing Authentication Token' },
      });
      expect(await call(api.url, null, 'DELETE', '/v1/model')).toMatchObject({ status: 403 });
    });

    it('serves the model version and its metrics', async () => {
      const model = await get('getModel', '/v1/model');
      expect(model.status).toBe(200);
      expect(model.body).toMatchObject({
        version: manifest.version,
        trainedAt: TRAINED_AT.toISOString(),
        numItems: manifest.numItems,
        metrics: manifest.metrics,
      });
      expect((await get('getHealth', '/v1/health')).body).toEqual({
        status: 'ok',
        modelVersion: manifest.version,
        dependencies: { modelStore: 'ok', featureStore: 'ok' },
      });
    });

    it('recommends unseen items for a known user, best first, with reasons from their history', async () => {
      const response = await recommendations('u1', '?limit=5');
      expect(response.status).toBe(200);
      const body = response.body;
      expect(body).toMatchObject({ userId: 'u1', modelVersion: manifest.version, strategy: 'personalized' });
      expect(body.items).toHaveLength(5);
      const scores = body.items.map((item) => item.score);
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
      const seen = new Set(await recentOf('u1'));
      expect(seen.size).toBeGreaterThan(0);
      for (const item of body.items) expect(seen.has(item.itemId)).toBe(false);
      const explained = body.items.filter((item) => item.reason);
      expect(explained.length).toBeGreaterThan(0);
      for (const item of explained) {
        expect(seen.has(item.reasonItemId as string)).toBe(true);
        expect(item.reason).toMatch(new RegExp(`^because you .+ ${item.reasonItemId}$`));
      }
    });

    it('applies category and price filters, and returns the whole filtered catalogue when it is smaller', async () => {
      const wanted = world.items[0]?.category as string;
      const inCategory = world.items.filter((item) => item.category === wanted).length;
      const filtered = await recommendations('u2', `?limit=100&exclude_seen=false&category=${wanted}`);
      expect(filtered.status).toBe(200);
      expect(filtered.body.items).toHaveLength(inCategory);
      for (const item of filtered.body.items) expect(category(item.itemId)).toBe(wanted);

      const cheap = await recommendations('u2', '?limit=10&min_price=5&max_price=40');
      for (const item of cheap.body.items) {
        expect(price(item.itemId)).toBeGreaterThanOrEqual(5);
        expect(price(item.itemId)).toBeLessThanOrEqual(40);
      }
    });

    it('never returns fewer items than asked while the catalogue allows it', async () => {
      const seen = new Set(await recentOf('u3'));
      const response = await recommendations('u3', '?limit=100');
      expect(response.body.items).toHaveLength(Math.min(100, world.items.length - seen.size));
    });

    it('serves trending items to an unknown user (cold start), within a category when asked', async () => {
      const cold = await recommendations('someone-new', '?limit=7');
      expect(cold.body).toMatchObject({ strategy: 'cold_start', userId: 'someone-new' });
      expect(cold.body.items).toHaveLength(7);
      const wanted = world.items[1]?.category as string;
      const coldInCategory = await recommendations('someone-new', `?limit=3&category=${wanted}`);
      expect(coldInCategory.body.items).toHaveLength(3);
      for (const item of coldInCategory.body.items) expect(category(item.itemId)).toBe(wanted);
    });

    it('scores a cold-start list with the popularity prior: each item’s share of recent interactions', async () => {
      const everything = await recommendations('someone-new', '?limit=100');
      const scores = everything.body.items.map((item) => item.score);
      expect(scores).toHaveLength(world.items.length);
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
      // Shares of the whole catalogue add up to 1 — not ranks turned into 1, 1/2, 1/3.
      expect(scores.reduce((sum, score) => sum + score, 0)).toBeCloseTo(1, 3);
      expect(scores[0]).toBeLessThan(0.5);
      const ranked = await post<{ items: { itemId: string; score: number }[] }>(
        'rankItems',
        '/v1/users/nobody-yet/rank',
        {
          itemIds: everything.body.items.slice(0, 3).map((item) => item.itemId),
        },
      );
      expect(ranked.body.items.map((item) => item.score)).toEqual(scores.slice(0, 3));
    });

    it('excludes an item the user just purchased on the very next call', async () => {
      const before = await recommendations('u4', '?limit=3');
      const top = before.body.items[0]?.itemId as string;
      const posted = await post('postEvents', '/v1/events', {
        userId: 'u4',
        itemId: top,
        eventType: 'purchase',
        value: 19.99,
      });
      expect(posted).toMatchObject({ status: 202, body: { accepted: 1, users: 1 } });
      const after = await recommendations('u4', '?limit=3');
      expect(after.body.strategy).toBe('personalized');
      expect(after.body.items.map((item) => item.itemId)).not.toContain(top);
      expect((await recentOf('u4')).at(-1)).toBe(top);
    });

    it('gives a brand-new user with a few events a sequence-based personalized list', async () => {
      const viewed = world.items.slice(0, 3).map((item) => item.itemId);
      const posted = await post('postEvents', '/v1/events', {
        events: viewed.map((itemId, index) => ({
          userId: 'fresh-user',
          itemId,
          eventType: 'view',
          timestamp: TEST_NOW - 60 + index,
        })),
      });
      expect(posted).toMatchObject({ status: 202, body: { accepted: 3, users: 1 } });
      const response = await recommendations('fresh-user', '?limit=5');
      expect(response.body.strategy).toBe('personalized');
      expect(response.body.items).toHaveLength(5);
      for (const item of response.body.items) expect(viewed).not.toContain(item.itemId);
      expect(response.body.items.some((item) => viewed.includes(item.reasonItemId as string))).toBe(true);
    });

    it('ranks given items for a user and reports unknown ids without failing', async () => {
      const candidates = world.items.slice(10, 20).map((item) => item.itemId);
      const response = await post<{ items: { itemId: string; score: number }[]; unknownItemIds: string[] }>(
        'rankItems',
        '/v1/users/u5/rank',
        { itemIds: [...candidates, 'no-such-item', candidates[0]] },
      );
      expect(response.status).toBe(200);
      expect(response.body.unknownItemIds).toEqual(['no-such-item']);
      expect(response.body.items.map((item) => item.itemId).sort()).toEqual([...candidates].sort());
      const scores = response.body.items.map((item) => item.score);
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
      const cold = await post('rankItems', '/v1/users/nobody-yet/rank', { itemIds: candidates });
      expect(cold.body.strategy).toBe('cold_start');
    });

    it('adds each item’s stored attributes with include=attributes, to recommendations and similar items', async () => {
      type WithAttributes = { items: { itemId: string; attributes: Record<string, unknown> }[] };
      const recommended = await get<WithAttributes>(
        'getRecommendations',
        '/v1/users/u1/recommendations?limit=3&include=attributes',
      );
      const similar = await get<WithAttributes>(
        'getSimilarItems',
        `/v1/items/${world.items[5]?.itemId as string}/similar?limit=3&include=attributes`,
      );
      for (const response of [recommended, similar]) {
        expect(response.status).toBe(200);
        expect(response.body.items.length).toBeGreaterThan(0);
        for (const item of response.body.items) {
          expect(item.attributes).toEqual({ category: category(item.itemId), price: price(item.itemId) });
        }
      }
      const plain = await get<{ items: object[] }>(
        'getRecommendations',
        '/v1/users/u1/recommendations?limit=3',
      );
      for (const item of plain.body.items) expect(item).not.toHaveProperty('attributes');
      const wrong = await get<ErrorBody>(
        'getRecommendations',
        '/v1/users/u1/recommendations?include=everything',
      );
      expect(wrong).toMatchObject({ status: 400, body: { field: 'include', in: 'query' } });
    });

    it('finds similar items and answers 404 for an item the model does not know', async () => {
      const itemId = world.items[5]?.itemId as string;
      const similar = await get<{ items: { itemId: string; score: number }[] }>(
        'getSimilarItems',
        `/v1/items/${itemId}/similar?limit=4`,
      );
      expect(similar.status).toBe(200);
      expect(similar.body.items).toHaveLength(4);
      expect(similar.body.items.map((item) => item.itemId)).not.toContain(itemId);
      for (const item of similar.body.items) {
        expect(item.score).toBeGreaterThan(0);
        expect(item.score).toBeLessThanOrEqual(1.000001);
      }
      // A filter nothing passes: an empty list that says why, not dissimilar items to fill it.
      const none = await get<{ items: unknown[]; note?: string }>(
        'getSimilarItems',
        `/v1/items/${itemId}/similar?limit=4&min_price=1000000`,
      );
      expect(none).toMatchObject({
        status: 200,
        body: {
          items: [],
          note: `only 0 items are similar to '${itemId}' (cosine similarity above 0) within the filter`,
        },
      });
      const missing = await get<ErrorBody>('getSimilarItems', '/v1/items/no-such-item/similar');
      expect(missing).toMatchObject({
        status: 404,
        body: { error: 'item_not_found', field: 'itemId', in: 'path' },
      });
    });

    it.each([
      ['/v1/users/u1/recommendations?limit=0', 'limit', 'query'],
      ['/v1/users/u1/recommendations?limit=abc', 'limit', 'query'],
      ['/v1/users/u1/recommendations?limit=2.5', 'limit', 'query'],
      ['/v1/users/u1/recommendations?limt=5', 'limt', 'query'],
      ['/v1/users/u1/recommendations?exclude_seen=yes', 'exclude_seen', 'query'],
      ['/v1/users/u1/recommendations?min_price=-1', 'min_price', 'query'],
      ['/v1/users/u1/recommendations?min_price=50&max_price=10', 'max_price', 'query'],
      ['/v1/users/%20/recommendations', 'userId', 'path'],
      ['/v1/items/i1/similar?limit=101', 'limit', 'query'],
    ])('GET %s → 400 naming %s', async (path, field, location) => {
      const operationId = path.includes('/similar') ? 'getSimilarItems' : 'getRecommendations';
      const response = await get<ErrorBody>(operationId, path);
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ error: 'validation_error', field, in: location });
      expect(response.body.message).toContain(`'${field}'`);
    });

    it.each([
      ['rankItems', '/v1/users/u1/rank', { itemIds: [] }, 'itemIds'],
      [
        'rankItems',
        '/v1/users/u1/rank',
        { itemIds: Array.from({ length: 501 }, (_, i) => `i${i}`) },
        'itemIds',
      ],
      ['rankItems', '/v1/users/u1/rank', { itemIds: ['i1'], items: ['i1'] }, 'items'],
      ['rankItems', '/v1/users/u1/rank', '{"itemIds": [', 'body'],
      ['postEvents', '/v1/events', { itemId: 'i1', eventType: 'view' }, 'userId'],
      ['postEvents', '/v1/events', { userId: 'u1', itemId: 'i1', eventType: 'has space' }, 'eventType'],
      ['postEvents', '/v1/events', { userId: 'u1', itemId: 'i1', eventType: 'view', value: -3 }, 'value'],
      [
        'postEvents',
        '/v1/events',
        { userId: 'u1', itemId: 'i1', eventType: 'view', timestamp: TEST_NOW + 10 * 86_400 },
        'timestamp',
      ],
      [
        'postEvents',
        '/v1/events',
        { userId: 'u1', itemId: 'i1', eventType: 'view', timestamp: 1_000 },
        'timestamp',
      ],
      [
        'postEvents',
        '/v1/events',
        {
          events: [
            { userId: 'u1', itemId: 'i1', eventType: 'view' },
            { userId: 'u1', itemId: 'i2', eventType: 'view', timestamp: TEST_NOW + 10 * 86_400 },
          ],
        },
        'events[1].timestamp',
      ],
      [
        'postEvents',
        '/v1/events',
        { events: Array.from({ length: 101 }, () => ({ userId: 'u1', itemId: 'i1', eventType: 'view' })) },
        'events',
      ],
    ])('%s %s with an invalid body → 400 naming %#', async (operationId, path, body, field) => {
      const response = await post<ErrorBody>(operationId, path, body);
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ error: 'validation_error', in: 'body' });
      expect(response.body.field).toBe(field);
    });

    it('delivers posted events into the drop folder through Firehose, where ingestion counts a retried request as duplicates', async () => {
      const before = (await env.featureStore.users.get('u6'))?.event_count ?? 0;
      const events = [0, 1].map((index) => ({
        userId: 'u6',
        itemId: world.items[20 + index]?.itemId as string,
        eventType: 'view',
        timestamp: TEST_NOW - 120 + index,
      }));
      await env.stack.deliverEvents(); // earlier tests' events in their own file
      const delivered = new Set(await env.keys(API_EVENTS_FOLDER));
      expect((await post('postEvents', '/v1/events', { events })).status).toBe(202);
      // A client retry: Firehose takes the record again, and both copies reach the drop folder.
      expect((await post('postEvents', '/v1/events', { events })).status).toBe(202);
      await env.stack.deliverEvents(); // what the 60 s buffer interval would do
      const files = (await env.keys(API_EVENTS_FOLDER)).filter((key) => !delivered.has(key));
      expect(files).toHaveLength(1);
      expect(files[0]).toMatch(
        /^incoming\/interactions\/api-events\/\d{4}-\d\d-\d\d\/mappa-api-events-1-.+\.jsonl$/,
      );
      const report = await env.report((files[0] as string).replace('incoming/', ''));
      expect(report).toMatchObject({ rows_in: 4, accepted: 2, duplicates: 2, rejected: 0 });
      const user = await env.featureStore.users.get('u6');
      expect(user?.event_count).toBe(before + 2);
      const recent = (user?.recent ?? []).filter((entry) => entry.timestamp >= TEST_NOW - 120);
      expect(recent).toHaveLength(2);
    });

    it('serves customer segments, the segment of each user, and writes one export per segment', async () => {
      const all = await get<{ k: number; segments: { name: string; size: number; description: string }[] }>(
        'getSegments',
        '/v1/segments',
      );
      expect(all.status).toBe(200);
      expect(all.body.k).toBeGreaterThanOrEqual(3);
      expect(all.body.segments.reduce((sum, segment) => sum + segment.size, 0)).toBe(manifest.numUsers);
      for (const segment of all.body.segments) expect(segment.description).toMatch(/\w+ .*(of|like) /);
      const mine = await get<{ segment: string; profile: { name: string } }>(
        'getUserSegment',
        '/v1/users/u1/segment',
      );
      expect(mine.status).toBe(200);
      expect(all.body.segments.map((segment) => segment.name)).toContain(mine.body.segment);
      const stranger = await get<ErrorBody>('getUserSegment', '/v1/users/nobody-at-all/segment');
      expect(stranger).toMatchObject({ status: 404, body: { error: 'user_not_segmented', field: 'userId' } });
      const exports = await env.keys(`exports/segments/${manifest.version}/`);
      expect(exports).toHaveLength(all.body.k);
      const rows = (await env.readText(exports[0] as string)).trim().split('\n');
      expect(rows[0]).toBe('user_id,segment,recency_days,frequency,monetary,top_category');
      expect(rows.length - 1).toBe(all.body.segments.find((segment) => segment.name === 'S1')?.size);
    });

    it('serves purchase and churn propensity scored at training, with deciles', async () => {
      type PropensityBody = { probability: number; decile: number; target: string; definition: string };
      const deciles = new Set<number>();
      for (const userId of ['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8', 'u9', 'u10', 'u11', 'u12']) {
        const response = await get<PropensityBody>(
          'getUserPropensity',
          `/v1/users/${userId}/propensity?target=purchase`,
        );
        expect(response.status).toBe(200);
        expect(response.body.probability).toBeGreaterThanOrEqual(0);
        expect(response.body.probability).toBeLessThanOrEqual(1);
        expect(response.body.definition).toMatch(/^buys at least once in the next \d+ days$/);
        deciles.add(response.body.decile);
      }
      expect(deciles.size).toBeGreaterThan(3);
      const churn = await get<PropensityBody>('getUserPropensity', '/v1/users/u1/propensity?target=churn');
      expect(churn.body).toMatchObject({ target: 'churn', definition: expect.stringMatching(/no activity/) });
      const stranger = await get<ErrorBody>('getUserPropensity', '/v1/users/nobody-at-all/propensity');
      expect(stranger).toMatchObject({ status: 404, body: { error: 'user_not_scored' } });
      const bad = await get<ErrorBody>('getUserPropensity', '/v1/users/u1/propensity?target=love');
      expect(bad).toMatchObject({ status: 400, body: { field: 'target', in: 'query' } });
    });

    it('saves each propensity model with the version, loadable without TF.js', async () => {
      for (const target of ['purchase', 'churn']) {
        const text = await env.readText(propensityModelKey(manifest.version, target));
        const scorer = PropensityScorer.fromArtifact(JSON.parse(text));
        expect(scorer.target).toBe(target);
        expect(scorer.encoder.features.map((feature) => feature.name)).toContain('recency_days');
        expect(scorer.metadata).toMatchObject({
          validationAuc: expect.any(Number),
          horizonDays: expect.any(Number),
        });
      }
    });

    it('exports top-N recommendations for all users and for one segment as CSV', async () => {
      const model = await s3ModelSource(env.stack.s3, env.bucket).load(manifest);
      const deps = {
        s3: env.stack.s3,
        dynamoDb: env.stack.dynamoDb,
        bucket: env.bucket,
        tables: env.stack.names.tables,
      };
      const all = await exportRecommendations(deps, model, { limit: 3 });
      expect(all).toMatchObject({
        key: `exports/recommendations/${manifest.version}/all-top3.csv`,
        users: manifest.numUsers,
      });
      const lines = (await env.readText(all.key)).trim().split('\n');
      expect(lines[0]).toBe('user_id,rank,item_id,score,strategy,reason,recommendation_id');
      expect(lines).toHaveLength(all.rows + 1);
      expect(all.rows).toBe(3 * manifest.numUsers);
      const u1 = lines.filter((line) => line.startsWith('u1,')).map((line) => line.split(',')[2]);
      const seen = new Set(await recentOf('u1'));
      expect(u1).toHaveLength(3);
      for (const itemId of u1) expect(seen.has(itemId as string)).toBe(false);

      const segmentMembers = (await env.readText(`exports/segments/${manifest.version}/S1.csv`))
        .trim()
        .split('\n')
        .slice(1)
        .map((line) => line.split(',')[0]);
      const one = await exportRecommendations(deps, model, { limit: 2, segment: 'S1' });
      expect(one.users).toBe(segmentMembers.length);
      const exported = new Set(
        (await env.readText(one.key))
          .trim()
          .split('\n')
          .slice(1)
          .map((line) => line.split(',')[0]),
      );
      expect([...exported].sort()).toEqual([...segmentMembers].sort());
      await expect(exportRecommendations(deps, model, { limit: 2, segment: 'S99' })).rejects.toThrow(
        `segment 'S99' does not exist in model ${manifest.version}`,
      );
    });

    it('runs an A/B experiment: sticky variants in recommendations, outcomes from events, a report with statistics', async () => {
      const definition = {
        experimentId: 'home-page-test',
        variants: [
          { name: 'popular', strategy: 'popular', weight: 1 },
          { name: 'personal', strategy: 'personalized', weight: 1 },
        ],
        costPerContact: 0.1,
      };
      const created = await post('createExperiment', '/v1/experiments', definition);
      expect(created).toMatchObject({
        status: 201,
        body: { experimentId: 'home-page-test', status: 'running' },
      });
      expect((await post('createExperiment', '/v1/experiments', definition)).status).toBe(200);
      const clash = await post<ErrorBody>('createExperiment', '/v1/experiments', {
        ...definition,
        costPerContact: 0.2,
      });
      expect(clash).toMatchObject({
        status: 409,
        body: { error: 'experiment_exists', field: 'experimentId' },
      });
      const invalid = await post<ErrorBody>('createExperiment', '/v1/experiments', {
        ...definition,
        variants: [definition.variants[0], { name: 'x', strategy: 'random' }],
      });
      expect(invalid).toMatchObject({ status: 400, body: { field: 'variants[1].strategy' } });

      const users = Array.from({ length: 30 }, (_, user) => `u${user + 10}`);
      const served = new Map<string, string>();
      for (const userId of users) {
        const response = await recommendations(userId, '?limit=3&experiment=home-page-test');
        const body = response.body as Recommendations & { experiment: string; variant: string };
        expect(body.experiment).toBe('home-page-test');
        expect(body.strategy).toBe(body.variant === 'popular' ? 'popular' : 'personalized');
        served.set(userId, body.variant);
        const again = await recommendations(userId, '?limit=3&experiment=home-page-test');
        expect((again.body as typeof body).variant).toBe(body.variant);
      }
      expect(new Set(served.values()).size).toBe(2);

      const buyer = users[0] as string;
      const posted = await post('postEvents', '/v1/events', {
        events: [
          { userId: buyer, itemId: 'i1', eventType: 'view' },
          { userId: buyer, itemId: 'i1', eventType: 'purchase', value: 40 },
          { userId: 'never-exposed', itemId: 'i1', eventType: 'purchase', value: 40 },
        ],
      });
      expect(posted).toMatchObject({ status: 202, body: { accepted: 3, users: 2, attributed: 1 } });
      // A client retrying the same request (same events, same times) adds no outcome twice.
      const retried = await post('postEvents', '/v1/events', {
        events: [
          { userId: buyer, itemId: 'i1', eventType: 'view' },
          { userId: buyer, itemId: 'i1', eventType: 'purchase', value: 40 },
        ],
      });
      expect(retried.status).toBe(202);
      expect(retried.body).not.toHaveProperty('attributed');

      const report = await get<{
        variants: {
          variant: string;
          users: number;
          exposures: number;
          converters: number;
          revenue: number;
        }[];
        power: { underpowered: boolean };
        warnings: string[];
      }>('getExperimentReport', '/v1/experiments/home-page-test/report');
      expect(report.status).toBe(200);
      expect(report.body.variants.reduce((sum, variant) => sum + variant.users, 0)).toBe(30);
      expect(report.body.variants.reduce((sum, variant) => sum + variant.exposures, 0)).toBe(60);
      const buyerVariant = report.body.variants.find((variant) => variant.variant === served.get(buyer));
      expect(buyerVariant).toMatchObject({ converters: 1, revenue: 40 });
      expect(report.body.power.underpowered).toBe(true);
      expect(report.body.warnings.length).toBeGreaterThan(0);

      const unknown = await recommendations('u1', '?experiment=no-such-test');
      expect(unknown).toMatchObject({
        status: 404,
        body: { error: 'experiment_not_found', field: 'experiment' },
      });
      const missing = await get<ErrorBody>('getExperimentReport', '/v1/experiments/no-such-test/report');
      expect(missing).toMatchObject({ status: 404, body: { field: 'experimentId', in: 'path' } });
    });

    it('keeps answering during a model swap: every response comes from the old or the new version', async () => {
      const old = manifest.version;
      const training = trainQuickModel(env, new Date(TRAINED_AT.getTime() + 1_000), 2);
      const versions = new Set<string>();
      let done = false;
      void training.finally(() => {
        done = true;
      });
      while (!done) {
        const batch = await Promise.all(Array.from({ length: 8 }, () => recommendations('u7', '?limit=3')));
        for (const response of batch) {
          expect(response.status).toBe(200);
          versions.add(response.body.modelVersion);
        }
      }
      const next = (await training).version;
      // Once the store has re-checked the manifest, every request is answered by the new version.
      await api.refreshModels();
      const settled = await Promise.all(Array.from({ length: 8 }, () => recommendations('u7', '?limit=3')));
      for (const response of settled) expect(response.body.modelVersion).toBe(next);
      expect([...versions].every((version) => version === old || version === next)).toBe(true);
      manifest = JSON.parse(await env.readText(MANIFEST_KEY)) as ModelManifest;
    });

    it('logs one JSON line per request with request id, route, status, latency and model version', async () => {
      const logged = await startLocalApi({
        port: 0,
        apiKey: API_KEY,
        depsFor: localApiDeps(env.stack, {
          log: createLogger({ service: 'test', level: 'info' }),
          writeMetrics: () => undefined,
        }),
      });
      let lines: string[] = [];
      try {
        ({ lines } = await outputLinesDuring(() =>
          call(logged.url, 'getRecommendations', 'GET', '/v1/users/u1/recommendations?limit=2'),
        ));
      } finally {
        await logged.close();
      }
      const entry = lines
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((line) => line.message === 'request');
      expect(entry).toMatchObject({
        level: 'INFO',
        service: 'test',
        route: 'getRecommendations',
        status: 200,
        strategy: 'personalized',
        modelVersion: manifest.version,
        requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        apiRequestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
      expect(typeof entry?.latencyMs).toBe('number');
    });

    it('writes one EMF metric line per request with latency, route and strategy', () => {
      const lines = metricLines.map((line) => JSON.parse(line) as Record<string, unknown>);
      const served = lines.find(
        (line) => line.route === 'getRecommendations' && line.Strategy_personalized === 1,
      );
      expect(served).toMatchObject({ service: 'mappa-api-recommendations', Status2xx: 1 });
      expect(typeof served?.Latency).toBe('number');
      expect(JSON.stringify(served?._aws)).toContain('"Namespace":"Mappa"');
      expect(lines.some((line) => line.Strategy_cold_start === 1)).toBe(true);
    });
  });

  describe('when DynamoDB or the caller misbehaves', () => {
    /** An API whose DynamoDB client fails with the given error (a fault the emulator cannot produce). */
    async function apiWithFailingDynamoDb(name: string, operation: string): Promise<LocalApi> {
      const failingClient = (fn: ApiFunction) => {
        const client = env.stack.account.newClientsFor(apiDeployable(fn)).dynamoDb;
        client.middlewareStack.add(
          (next, context) => async (args) => {
            if (context.commandName === operation) {
              throw Object.assign(new Error(`injected ${name}`), { name, $metadata: {} });
            }
            return next(args);
          },
          { step: 'initialize', name: 'inject-fault' },
        );
        return client;
      };
      const base = localApiDeps(env.stack, {
        log: quiet,
        now: () => new Date(TEST_NOW * 1000),
        writeMetrics: () => undefined,
      });
      return startLocalApi({
        port: 0,
        apiKey: API_KEY,
        depsFor: (fn: ApiFunction) => ({ ...base(fn), dynamoDb: failingClient(fn) }),
      });
    }

    it('reports degraded health, naming the feature store, when DynamoDB does not answer', async () => {
      const down = await apiWithFailingDynamoDb('ServiceUnavailable', 'GetItemCommand');
      try {
        const health = await call(down.url, 'getHealth', 'GET', '/v1/health', { apiKey: null });
        expect(health.status).toBe(200);
        expect(health.body).toMatchObject({
          status: 'degraded',
          dependencies: { modelStore: 'ok', featureStore: 'unavailable' },
          failed: ['featureStore'],
        });
      } finally {
        await down.close();
      }
    });

    it('serves popular items as the fallback when the feature store is throttling reads', async () => {
      const degraded = await apiWithFailingDynamoDb(
        'ProvisionedThroughputExceededException',
        'BatchGetItemCommand',
      );
      try {
        const response = await call<Recommendations>(
          degraded.url,
          'getRecommendations',
          'GET',
          '/v1/users/u1/recommendations?limit=4',
        );
        expect(response.status).toBe(200);
        expect(response.body.strategy).toBe('fallback');
        expect(response.body.items).toHaveLength(4);
      } finally {
        await degraded.close();
      }
    });

    it('answers 429 with Retry-After when event writes are throttled, and 500 without internals on a bug', async () => {
      const throttled = await apiWithFailingDynamoDb('ThrottlingException', 'GetItemCommand');
      const broken = await apiWithFailingDynamoDb('TypeError', 'GetItemCommand');
      try {
        const event = { userId: 'u1', itemId: 'i1', eventType: 'view' };
        const limited = await call<ErrorBody>(throttled.url, 'postEvents', 'POST', '/v1/events', {
          body: event,
        });
        expect(limited).toMatchObject({ status: 429, body: { error: 'throttled' } });
        expect(limited.headers.get('retry-after')).toBe('1');
        const failed = await call<ErrorBody & { requestId: string }>(
          broken.url,
          'postEvents',
          'POST',
          '/v1/events',
          {
            body: event,
          },
        );
        expect(failed.status).toBe(500);
        expect(failed.body.error).toBe('internal_error');
        expect(JSON.stringify(failed.body)).not.toContain('injected');
        expect(failed.body.requestId).toMatch(/^[0-9a-f-]{36}$/);
      } finally {
        await throttled.close();
        await broken.close();
      }
    });

    it('throttles a caller beyond the usage plan rate with 429', async () => {
      const limited = await startLocalApi({
        port: 0,
        apiKey: API_KEY,
        depsFor: localApiDeps(env.stack, { log: quiet, writeMetrics: () => undefined }),
        rateLimit: { requestsPerSecond: 1, burst: 3 },
      });
      try {
        const statuses = [];
        for (let request = 0; request < 6; request++) {
          statuses.push((await call(limited.url, null, 'GET', '/v1/health')).status);
        }
        expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
        expect(statuses).toContain(429);
      } finally {
        await limited.close();
      }
    });
  });
});
