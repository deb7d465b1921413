import { startLocalApi, type LocalApi } from '../../shared/local/api-server';
import { localApiDeps } from '../../shared/local/api-wiring';
import { initBackend } from '../../shared/ml/backend';
import { createLogger } from '../../shared/observability/logger';
import type { SyntheticWorld } from '../../shared/synthetic/generator';
import { API_KEY, call, dropWorld, testWorld, trainQuickModel } from '../support/api';
import { MANIFEST_KEY, type ModelManifest } from '../../shared/contracts/artifacts';
import { exportRecommendations } from '../../shared/serving/batch-export';
import { itemMask } from '../../shared/serving/filters/bound-filter';
import { parseFilterExpression } from '../../shared/serving/filters/filter-expression';
import { s3ModelSource } from '../../shared/serving/model-store';
import { assertBalanced, type IngestionStack, startIngestionStack, TEST_NOW } from '../support/ingestion';
import { purgeForgottenUsers } from '../../shared/training/purge-forgotten';

type Listed = {
  recommendationId: string;
  strategy: string;
  filter?: string;
  promotion?: string;
  items: { itemId: string; score: number; promotion?: string; reason?: string }[];
};
type ErrorBody = { error: string; message: string; field?: string; in?: string; position?: number };

const TRAINED_AT = new Date((TEST_NOW - 30 * 86_400) * 1000);
/** Every third item is out of stock: what `EXCLUDE … WHERE Items.stock = 0` must leave out. */
const stockOf = (index: number) => (index % 3 === 0 ? 0 : 5 + index);

describe('named filters, promotions and attribution on the embedded stack', () => {
  let env: IngestionStack;
  let api: LocalApi;
  let world: SyntheticWorld;

  const request = <T = Record<string, unknown>>(
    operationId: string,
    method: string,
    path: string,
    body?: unknown,
  ) => call<T>(api.url, operationId, method, path, body === undefined ? {} : { body });
  const recommendations = (userId: string, query: string) =>
    request<Listed>('getRecommendations', 'GET', `/v1/users/${userId}/recommendations${query}`);
  const item = (itemId: string) => {
    const index = world.items.findIndex((candidate) => candidate.itemId === itemId);
    return { ...(world.items[index] as SyntheticWorld['items'][number]), stock: stockOf(index) };
  };

  beforeAll(async () => {
    await initBackend({ force: 'wasm' });
    env = await startIngestionStack();
    world = testWorld();
    await dropWorld(env, world, { stock: stockOf });
    await trainQuickModel(env, TRAINED_AT);
    api = await startLocalApi({
      port: 0,
      apiKey: API_KEY,
      // Filters re-read on every request, so a deleted filter stops applying at once in these tests.
      depsFor: localApiDeps(env.stack, {
        log: createLogger({ service: 'test', level: 'silent' }),
        writeMetrics: () => undefined,
        filtersCacheSeconds: 0,
        now: () => new Date(TEST_NOW * 1000),
      }),
      rateLimit: { requestsPerSecond: 10_000, burst: 10_000 },
    });
    await api.refreshModels();
    for (const [name, expression] of [
      ['in-stock', 'EXCLUDE ItemID WHERE Items.stock = 0'],
      ['shelf', 'INCLUDE ItemID WHERE Items.category IN ($CATEGORIES) AND Items.price <= $MAX_PRICE'],
      ['not-bought', 'EXCLUDE ItemID WHERE Interactions.event_type IN ("purchase")'],
      ['cheap', 'INCLUDE ItemID WHERE Items.price < 15'],
    ]) {
      const created = await request('createFilter', 'POST', '/v1/filters', { name, expression });
      if (created.status !== 201) throw new Error(`creating ${name}: ${JSON.stringify(created.body)}`);
    }
  });
  afterAll(async () => {
    await api?.close();
    await env?.stop();
  });

  it('creates filters idempotently, lists them with their parameters, and refuses a changed expression', async () => {
    const again = await request('createFilter', 'POST', '/v1/filters', {
      name: 'cheap',
      expression: 'INCLUDE ItemID WHERE Items.price < 15',
    });
    expect(again.status).toBe(200);
    const changed = await request<ErrorBody>('createFilter', 'POST', '/v1/filters', {
      name: 'cheap',
      expression: 'INCLUDE ItemID WHERE Items.price < 20',
    });
    expect(changed).toMatchObject({ status: 409, body: { error: 'filter_exists', field: 'name' } });
    const listed = await request<{ filters: { name: string; parameters: string[]; reads: string[] }[] }>(
      'listFilters',
      'GET',
      '/v1/filters',
    );
    expect(listed.body.filters.map((filter) => [filter.name, filter.parameters, filter.reads])).toEqual([
      ['cheap', [], ['Items']],
      ['in-stock', [], ['Items']],
      ['not-bought', [], ['Interactions']],
      ['shelf', ['CATEGORIES', 'MAX_PRICE'], ['Items']],
    ]);
  });

  it('points at the position of a syntax error', async () => {
    const response = await request<ErrorBody>('createFilter', 'POST', '/v1/filters', {
      name: 'broken',
      expression: 'EXCLUDE ItemID WHERE Items.stock == 0',
    });
    expect(response).toMatchObject({
      status: 400,
      body: { error: 'invalid_filter_expression', field: 'expression', in: 'body', position: 34 },
    });
    expect(response.body.message).toMatch(/expected a "string", a number or a \$PARAMETER, found '='/);
  });

  it('applies a filter to recommendations and still fills the list', async () => {
    const response = await recommendations('u1', '?limit=10&filter=in-stock');
    expect(response.status).toBe(200);
    expect(response.body.filter).toBe('in-stock');
    expect(response.body.items).toHaveLength(10);
    for (const { itemId } of response.body.items) expect(item(itemId).stock).toBeGreaterThan(0);
  });

  it('binds parameters from the query, and names a missing or malformed one', async () => {
    const categories = [...new Set(world.items.map((row) => row.category))].slice(0, 2);
    const response = await recommendations(
      'u2',
      `?limit=5&filter=shelf&CATEGORIES=${categories.join(',')}&MAX_PRICE=40`,
    );
    expect(response.status).toBe(200);
    expect(response.body.items.length).toBeGreaterThan(0);
    for (const { itemId } of response.body.items) {
      expect(categories).toContain(item(itemId).category);
      expect(item(itemId).price).toBeLessThanOrEqual(40);
    }
    expect(await recommendations('u2', `?filter=shelf&CATEGORIES=${categories[0]}`)).toMatchObject({
      status: 400,
      body: { error: 'validation_error', field: 'MAX_PRICE', in: 'query' },
    });
    expect(await recommendations('u2', `?filter=shelf&CATEGORIES=x&MAX_PRICE=cheap`)).toMatchObject({
      status: 400,
      body: { field: 'MAX_PRICE' },
    });
    expect(await recommendations('u2', `?filter=in-stock&MAX_PRICE=3`)).toMatchObject({
      status: 400,
      body: { field: 'MAX_PRICE', message: expect.stringMatching(/not a parameter of filter 'in-stock'/) },
    });
    expect(await recommendations('u2', '?filter=nope')).toMatchObject({
      status: 404,
      body: { error: 'filter_not_found', field: 'filter' },
    });
  });

  it('excludes what the user bought (interactions filter) even with exclude_seen=false', async () => {
    const buyer = [...world.interactions()].find((row) => row.eventType === 'purchase')?.userId as string;
    const bought = new Set(
      ((await env.featureStore.users.get(buyer))?.recent ?? [])
        .filter((entry) => entry.event_type === 'purchase')
        .map((entry) => entry.item_id),
    );
    expect(bought.size).toBeGreaterThan(0);
    const response = await recommendations(
      buyer,
      `?limit=${world.items.length}&exclude_seen=false&filter=not-bought`,
    );
    expect(response.status).toBe(200);
    const listed = response.body.items.map(({ itemId }) => itemId);
    expect(listed.filter((itemId) => bought.has(itemId))).toEqual([]);
    expect(listed).toHaveLength(world.items.length - bought.size);
  });

  it('promotes a share of the list from another filter, placed by score and marked', async () => {
    const response = await recommendations(
      'u3',
      '?limit=10&filter=in-stock&promotion=cheap&promotion_share=0.3',
    );
    expect(response.status).toBe(200);
    expect(response.body.promotion).toBe('cheap');
    const promoted = response.body.items.filter((entry) => entry.promotion === 'cheap');
    expect(promoted).toHaveLength(3);
    for (const { itemId } of promoted) expect(item(itemId).price).toBeLessThan(15);
    for (const entry of response.body.items.filter((candidate) => !candidate.promotion)) {
      expect(item(entry.itemId).stock).toBeGreaterThan(0);
    }
    const scores = response.body.items.map((entry) => entry.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(new Set(response.body.items.map((entry) => entry.itemId)).size).toBe(10);
    expect(await recommendations('u3', '?promotion_share=0.3')).toMatchObject({
      status: 400,
      body: { field: 'promotion_share' },
    });
  });

  it('applies filters to ranking and similar items; similar refuses a filter that needs a user', async () => {
    const ids = world.items.slice(0, 9).map((row) => row.itemId);
    const ranked = await request<{ items: { itemId: string }[]; filteredItemIds: string[] }>(
      'rankItems',
      'POST',
      '/v1/users/u1/rank?filter=in-stock',
      { itemIds: ids },
    );
    expect(ranked.status).toBe(200);
    expect(ranked.body.filteredItemIds.sort()).toEqual(ids.filter((id) => item(id).stock === 0).sort());
    expect(ranked.body.items).toHaveLength(6);
    const anchor = world.items[4]?.itemId as string;
    const similar = await request<Listed>(
      'getSimilarItems',
      'GET',
      `/v1/items/${anchor}/similar?limit=5&filter=cheap`,
    );
    expect(similar.status).toBe(200);
    for (const { itemId } of similar.body.items) expect(item(itemId).price).toBeLessThan(15);
    expect(
      await request<ErrorBody>('getSimilarItems', 'GET', `/v1/items/${anchor}/similar?filter=not-bought`),
    ).toMatchObject({
      status: 400,
      body: { field: 'filter', message: expect.stringMatching(/needs a user/) },
    });
  });

  it('applies a filter to the batch export of every user', async () => {
    const manifest = JSON.parse(await env.readText(MANIFEST_KEY)) as ModelManifest;
    const model = await s3ModelSource(env.stack.s3, env.bucket).load(manifest);
    const expression = parseFilterExpression('EXCLUDE ItemID WHERE Items.stock = 0');
    const mask = itemMask(expression, {}, model.items.attributes);
    const exported = await exportRecommendations(
      { s3: env.stack.s3, dynamoDb: env.stack.dynamoDb, bucket: env.bucket, tables: env.stack.names.tables },
      model,
      { limit: 5, filter: { name: 'in-stock', expression, parameters: {}, ...(mask ? { mask } : {}) } },
    );
    expect(exported.key).toMatch(/all-in-stock-top5\.csv$/);
    const rows = (await env.readText(exported.key)).trim().split('\n').slice(1);
    expect(rows).toHaveLength(exported.users * 5);
    for (const row of rows) expect(item(row.split(',')[2] as string).stock).toBeGreaterThan(0);
  });

  it('attributes clicks and purchases that carry a recommendationId to the list’s context, once each', async () => {
    type Row = {
      impressions: number;
      clicks: number;
      conversions: number;
      revenue: number;
      ctr: { value: number; ci95: number[] };
    };
    type Report = {
      totals: Row;
      byFilter: (Row & { filter: string | null })[];
      byPromotion: (Row & { promotion: string | null })[];
      bySurface: (Row & { surface: string })[];
    };
    const report = async () => {
      const response = await request<Report>('getAttribution', 'GET', '/v1/attribution');
      expect(response.status).toBe(200);
      return response.body;
    };
    const before = await report();
    const listed = await recommendations(
      'u5',
      '?limit=4&filter=in-stock&promotion=cheap&promotion_share=0.5',
    );
    const [first, second] = listed.body.items as [Listed['items'][number], Listed['items'][number]];
    const events = [
      {
        userId: 'u5',
        itemId: first.itemId,
        eventType: 'click',
        recommendationId: listed.body.recommendationId,
      },
      {
        userId: 'u5',
        itemId: second.itemId,
        eventType: 'purchase',
        value: 25,
        recommendationId: listed.body.recommendationId,
      },
    ];
    const posted = await request('postEvents', 'POST', '/v1/events', { events });
    expect(posted).toMatchObject({ status: 202, body: { accepted: 2, recommendationOutcomes: 2 } });
    // A retried request adds nothing.
    const retried = await request('postEvents', 'POST', '/v1/events', { events });
    expect(retried.status).toBe(202);
    expect(retried.body).not.toHaveProperty('recommendationOutcomes');
    const after = await report();
    expect(after.totals.impressions - before.totals.impressions).toBe(4);
    expect(after.totals.clicks - before.totals.clicks).toBe(1);
    expect(after.totals.conversions - before.totals.conversions).toBe(1);
    expect(after.totals.revenue - before.totals.revenue).toBe(25);
    const cheap = (body: Report) => body.byPromotion.find((row) => row.promotion === 'cheap');
    expect(cheap(after)).toMatchObject({
      impressions: (cheap(before)?.impressions ?? 0) + 4,
      clicks: (cheap(before)?.clicks ?? 0) + 1,
      conversions: (cheap(before)?.conversions ?? 0) + 1,
    });
    expect(cheap(after)?.ctr.ci95[0]).toBeLessThan(cheap(after)?.ctr.value as number);
    expect(after.byFilter.find((row) => row.filter === 'in-stock')?.impressions).toBeGreaterThanOrEqual(4);
    expect(after.bySurface.map((row) => row.surface)).toEqual(expect.arrayContaining(['recommendations']));
    const forged = await request('postEvents', 'POST', '/v1/events', {
      userId: 'u5',
      itemId: first.itemId,
      eventType: 'click',
      recommendationId: 'r1.bogus',
    });
    expect(forged).toMatchObject({ status: 400, body: { field: 'recommendationId', in: 'body' } });
    expect(
      await request('getAttribution', 'GET', '/v1/attribution?from=2026-01-01&to=2026-12-31'),
    ).toMatchObject({
      status: 400,
      body: { field: 'from' },
    });
  });

  it('deletes a filter: later requests answer 404, a second delete too', async () => {
    const deleted = await request('deleteFilter', 'DELETE', '/v1/filters/cheap');
    expect(deleted).toMatchObject({ status: 200, body: { name: 'cheap', deleted: true } });
    expect(await recommendations('u1', '?filter=cheap')).toMatchObject({ status: 404 });
    expect(await request('deleteFilter', 'DELETE', '/v1/filters/cheap')).toMatchObject({
      status: 404,
      body: { error: 'filter_not_found', field: 'name', in: 'path' },
    });
  });

  it('serves items listed after training at once: by score, in exploration slots marked new, and in similar', async () => {
    // The favourite category of each user, from the world's interactions.
    const counts = new Map<string, Map<string, number>>();
    for (const row of world.interactions()) {
      const byCategory = counts.get(row.userId) ?? new Map<string, number>();
      const category = item(row.itemId).category;
      byCategory.set(category, (byCategory.get(category) ?? 0) + 1);
      counts.set(row.userId, byCategory);
    }
    const share = (userId: string, category: string) => {
      const byCategory = counts.get(userId) ?? new Map<string, number>();
      const total = [...byCategory.values()].reduce((sum, n) => sum + n, 0);
      return (byCategory.get(category) ?? 0) / Math.max(total, 1);
    };
    const [category] = [...new Set(world.items.map((row) => row.category))].sort(
      (a, b) =>
        world.items.filter((row) => row.category === b).length -
        world.items.filter((row) => row.category === a).length,
    ) as [string];
    const prices = world.items
      .filter((row) => row.category === category)
      .map((row) => row.price)
      .sort((a, b) => a - b);
    const price = prices[Math.floor(prices.length / 2)] as number;
    await env.drop(
      'incoming/items/new-arrivals.csv',
      ['item_id,category,price,stock', `new-a,${category},${price},9`, `new-b,${category},${price},9`].join(
        '\n',
      ),
    );
    await api.refreshModels();

    const users = [...counts.keys()];
    const lovers = users.filter((userId) => share(userId, category) >= 0.5);
    const others = users.filter((userId) => share(userId, category) === 0);
    expect(lovers.length).toBeGreaterThan(2);
    expect(others.length).toBeGreaterThan(2);
    // Without exploration, new items compete by their content score: they rank higher for the category's fans.
    const positionOfNew = async (userId: string) => {
      const response = await recommendations(userId, `?limit=100&exploration_weight=0&exclude_seen=false`);
      expect(response.status).toBe(200);
      expect(response.body.items.filter((entry) => entry.reason === 'new')).toEqual([]);
      const position = response.body.items.findIndex((entry) => entry.itemId === 'new-a');
      expect(position).toBeGreaterThanOrEqual(0);
      return position / response.body.items.length;
    };
    const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
    const loverPositions = await Promise.all(lovers.map(positionOfNew));
    const otherPositions = await Promise.all(others.map(positionOfNew));
    expect(mean(loverPositions)).toBeLessThan(mean(otherPositions));
    const fan = lovers[0] as string;
    const top = await recommendations(fan, '?limit=10&exploration_weight=0');
    const newInTop = top.body.items.filter((entry) => entry.itemId.startsWith('new-'));
    // With exploration, new items get their share of slots, marked as such.
    const explored = await recommendations(fan, '?limit=10&exploration_weight=0.2');
    expect(explored.body.items).toHaveLength(10);
    const marked = explored.body.items.filter((entry) => entry.reason === 'new').map((entry) => entry.itemId);
    expect(marked.sort()).toEqual(
      ['new-a', 'new-b'].filter((id) => !newInTop.some((entry) => entry.itemId === id)).slice(0, 2),
    );
    // Similar items of a new item: its category's items first.
    const similar = await request<Listed>('getSimilarItems', 'GET', '/v1/items/new-a/similar?limit=5');
    expect(similar.status).toBe(200);
    expect(similar.body.items.length).toBeGreaterThan(0);
    const sameCategory = similar.body.items.filter(
      (entry) => entry.itemId.startsWith('new-') || item(entry.itemId).category === category,
    );
    expect(sameCategory.length / similar.body.items.length).toBeGreaterThan(0.5);
  });

  it('forgets a user: serving data now, later rows dropped unseen, curated data rewritten, cold start after', async () => {
    type Report = {
      deleted: {
        features: boolean;
        recentInteractions: number;
        vectors: number;
        experimentAssignments: number;
      };
      curatedData: { clean: boolean; cleanAt?: string };
      forgottenAt: string;
    };
    const userId = 'u7';
    expect((await recommendations(userId, '?limit=3')).body.strategy).toBe('personalized');
    const first = await request<Report>('forgetUser', 'DELETE', `/v1/users/${userId}`);
    expect(first.status).toBe(202);
    expect(first.body.deleted.features).toBe(true);
    expect(first.body.deleted.recentInteractions).toBeGreaterThan(0);
    expect(first.body.deleted.vectors).toBeGreaterThanOrEqual(1);
    expect(first.body.curatedData.clean).toBe(false);
    expect(await env.featureStore.users.get(userId)).toBeUndefined();
    expect((await recommendations(userId, '?limit=3')).body.strategy).toBe('cold_start');

    // Rows arriving later are counted as rejected, but their content is not kept anywhere.
    await env.drop(
      'incoming/interactions/late.csv',
      [
        'user_id,item_id,timestamp,event_type',
        `${userId},${world.items[0]?.itemId},${TEST_NOW - 60},view`,
        `u8,${world.items[1]?.itemId},${TEST_NOW - 60},view`,
      ].join('\n'),
    );
    const late = await env.report('interactions/late.csv');
    assertBalanced(late);
    expect(late).toMatchObject({
      rows_in: 2,
      accepted: 1,
      rejected: 1,
      rejected_by_reason: { user_forgotten: 1 },
    });
    const quarantined = await env.readText(late.outputs.rejected_rows as string);
    expect(quarantined).not.toContain(`${userId},`);

    // The next training run starts with the deletion job (under the training task's role): curated data
    // loses the user's rows, the tombstone is stamped, and the new model knows nothing of the user.
    const retrainedAt = new Date(TEST_NOW * 1000);
    await trainQuickModel(env, retrainedAt);
    const curated = await env.curatedRows('curated/interactions/');
    expect(curated.filter((row) => row.user_id === userId)).toEqual([]);
    expect(curated.some((row) => row.user_id === 'u8')).toBe(true);

    const again = await request<Report>('forgetUser', 'DELETE', `/v1/users/${userId}`);
    expect(again.body.forgottenAt).toBe(first.body.forgottenAt);
    expect(again.body.deleted).toEqual(first.body.deleted);
    expect(again.body.curatedData).toEqual({ clean: true, cleanAt: retrainedAt.toISOString() });
    // Nothing is left for a later run of the job to do.
    const ledger = { client: env.stack.dynamoDb, table: env.stack.names.tables.ledger };
    expect(await purgeForgottenUsers(env.stack.s3, env.bucket, ledger, retrainedAt)).toEqual({
      users: 0,
      objectsRewritten: 0,
      rowsRemoved: 0,
    });

    await api.refreshModels();
    const manifest = JSON.parse(await env.readText(MANIFEST_KEY)) as ModelManifest;
    const retrained = await s3ModelSource(env.stack.s3, env.bucket).load(manifest);
    expect(retrained.userIds.has(userId)).toBe(false);
    expect(retrained.userIds.has('u8')).toBe(true);
    expect((await recommendations(userId, '?limit=3')).body.strategy).toBe('cold_start');
  });
});
