import { initBackend } from '../../shared/ml/backend';
import { MANIFEST_KEY, type ModelManifest } from '../../shared/contracts/artifacts';
import { SeededRandom } from '../../shared/data/random';
import { call, exportedLines, linesWithConsumedItems, startTestApi, trainQuickModel } from '../support/api';
import { startIngestionStack, TEST_NOW } from '../support/ingestion';

/**
 * A ratings log where one user rated 200 of 260 films: far more than the 50
 * recent interactions the feature store keeps. Nothing the user ever rated may
 * come back as a recommendation — not through the API, not in an export.
 */
describe('already-consumed items are never recommended, at any history length', () => {
  it('excludes the whole trained history plus events since, for the API and for exports', async () => {
    await initBackend({ force: 'wasm' });
    const env = await startIngestionStack();
    try {
      // Prepare: 260 items; "heavy" rated 200 of them, 60 other users rated 25 each.
      const random = new SeededRandom(11);
      const items = Array.from({ length: 260 }, (_, index) => `m${index}`);
      const rated = new Map<string, Set<string>>();
      const rows: string[] = [];
      const rate = (user: string, picks: string[], start: number) => {
        rated.set(user, new Set(picks));
        picks.forEach((item, index) =>
          rows.push(`${user},${item},${start + index * 60},rating,${1 + Math.floor(random.next() * 5)}`),
        );
      };
      rate('heavy', items.slice(0, 200), TEST_NOW - 400 * 86_400);
      for (let user = 0; user < 60; user++) {
        const picks = new Set<string>();
        while (picks.size < 25)
          picks.add(items[Math.floor(random.next() * (user % 2 ? 130 : 260))] as string);
        rate(`u${user}`, [...picks], TEST_NOW - 200 * 86_400 + user * 3_600);
      }
      await env.drop(
        'incoming/interactions/ratings.csv',
        ['user_id,item_id,timestamp,event_type,event_value', ...rows].join('\n'),
      );
      expect((await env.featureStore.users.get('heavy'))?.recent).toHaveLength(50);
      await trainQuickModel(env, new Date((TEST_NOW - 86_400) * 1000));
      const manifest = JSON.parse(await env.readText(MANIFEST_KEY)) as ModelManifest;

      // Act 1: the API, the heavy user's whole catalogue minus what they rated (60 films) is what is left.
      const api = await startTestApi(env);
      let served: { itemId: string }[];
      try {
        const response = await call<{ items: { itemId: string }[] }>(
          api.url,
          'getRecommendations',
          'GET',
          '/v1/users/heavy/recommendations?limit=50&exclude_seen=true',
        );
        expect(response.status).toBe(200);
        served = response.body.items;
        // Ranking a candidate list: films rated long ago (not in the recent 50) are left out and named.
        const longAgo = items.slice(0, 10);
        const ranked = await call<{ items: { itemId: string }[]; excludedItemIds: string[] }>(
          api.url,
          'rankItems',
          'POST',
          '/v1/users/heavy/rank',
          { body: { itemIds: [...longAgo, ...items.slice(250, 260)], excludeSeen: true } },
        );
        expect(ranked.status).toBe(200);
        expect(ranked.body.excludedItemIds.sort()).toEqual([...longAgo].sort());
        expect(ranked.body.items.map((item) => item.itemId).sort()).toEqual(items.slice(250, 260).sort());
      } finally {
        await api.close();
      }

      // Act 2: the batch export for every user.
      const lines = await exportedLines(env, manifest);

      // Assess: 0 of N.
      expect(served).toHaveLength(50);
      expect(served.filter((item) => rated.get('heavy')?.has(item.itemId))).toEqual([]);
      expect(lines).toHaveLength(61 * 10);
      const consumed = linesWithConsumedItems(lines, rated);
      expect(consumed).toEqual([]);
    } finally {
      await env.stop();
    }
  });
});
