import { initBackend } from '../../shared/ml/backend';
import { MANIFEST_KEY, type ModelManifest } from '../../shared/contracts/artifacts';
import { SeededRandom } from '../../shared/data/random';
import { call, exportedLines, linesWithConsumedItems, startTestApi, trainQuickModel } from '../support/api';
import { startIngestionStack, TEST_NOW } from '../support/ingestion';

const GENRES = ['Comedy', 'Drama', 'Horror', 'Animation', 'Documentary', 'Western'];
const THRESHOLD = 3.5;

interface Served {
  itemId: string;
  reasonItemId?: string;
  attributes?: Record<string, unknown>;
}

/**
 * A MovieLens-like catalogue: films with pipe-separated genres, users who rate the genres they like 4–5★ and
 * the rest 0.5–2.5★, and an interactions mapping that says ratings below 3.5★ are negatives. What a marketer
 * sees must follow that: nothing rated comes back, and no reason names a film the user disliked.
 */
describe('explicit feedback and list attributes, from the drop folder to the API', () => {
  it('learns with the rating threshold, never explains with a disliked film, and filters any genre', async () => {
    await initBackend({ force: 'wasm' });
    const env = await startIngestionStack();
    try {
      // Prepare: 150 films, each with one to three genres; 80 users with two favourite genres each.
      const random = new SeededRandom(5);
      const films = Array.from({ length: 150 }, (_, index) => {
        const genres = new Set([GENRES[index % GENRES.length] as string]);
        if (index % 3 === 0) genres.add(GENRES[(index + 2) % GENRES.length] as string);
        if (index % 7 === 0) genres.add(GENRES[(index + 3) % GENRES.length] as string);
        return { itemId: `f${index}`, genres: [...genres] };
      });
      await env.drop(
        'incoming/items/_mapping.json',
        JSON.stringify({ columns: { genres: 'category' }, lists: { category: '|' } }),
      );
      await env.drop(
        'incoming/items/films.csv',
        [
          'item_id,title,genres',
          ...films.map((film) => `${film.itemId},Film ${film.itemId},${film.genres.join('|')}`),
        ].join('\n'),
      );
      await env.drop(
        'incoming/interactions/_mapping.json',
        JSON.stringify({ events: { rating: { positiveThreshold: THRESHOLD, belowThreshold: 'negative' } } }),
      );
      const ratings = new Map<string, Map<string, number>>();
      const rows: string[] = [];
      for (let user = 0; user < 80; user++) {
        const liked = new Set([GENRES[user % GENRES.length], GENRES[(user + 1) % GENRES.length]]);
        const mine = new Map<string, number>();
        while (mine.size < 30) {
          const film = films[Math.floor(random.next() * films.length)] as (typeof films)[number];
          if (mine.has(film.itemId)) continue;
          const likes = film.genres.some((genre) => liked.has(genre));
          const stars = likes
            ? 4 + Math.floor(random.next() * 3) / 2
            : 0.5 + Math.floor(random.next() * 5) / 2;
          mine.set(film.itemId, stars);
          rows.push(
            `u${user},${film.itemId},${TEST_NOW - 100 * 86_400 + user * 3_600 + mine.size * 60},rating,${stars}`,
          );
        }
        ratings.set(`u${user}`, mine);
      }
      await env.drop(
        'incoming/interactions/ratings.csv',
        ['user_id,item_id,timestamp,event_type,event_value', ...rows].join('\n'),
      );
      const curatedFilm = (await env.curatedRows('curated/items/')).find((row) => row.item_id === 'f0');
      expect(curatedFilm?.category).toEqual(films[0]?.genres);
      const lowRatings = rows.filter((row) => Number(row.split(',')[4]) < THRESHOLD).length;
      expect(lowRatings).toBeGreaterThan(rows.length / 4);

      // Act: train (under the training task's IAM, which must read the interactions mapping), then ask.
      await trainQuickModel(env, new Date((TEST_NOW - 86_400) * 1000));
      const manifest = JSON.parse(await env.readText(MANIFEST_KEY)) as ModelManifest;
      expect(manifest.eventPolicy).toEqual({
        rating: { role: 'positive', weight: 1, positiveThreshold: THRESHOLD, belowThreshold: 'negative' },
      });
      const api = await startTestApi(env);
      const served = new Map<string, Served[]>();
      let comedies: Served[] = [];
      let segments: { topCategories: { category: string }[] }[] = [];
      try {
        for (const userId of ratings.keys()) {
          const response = await call<{ strategy: string; items: Served[] }>(
            api.url,
            'getRecommendations',
            'GET',
            `/v1/users/${userId}/recommendations?limit=10&exclude_seen=true`,
          );
          expect(response.status).toBe(200);
          expect(response.body.strategy).toBe('personalized');
          served.set(userId, response.body.items);
        }
        const filtered = await call<{ items: Served[] }>(
          api.url,
          'getRecommendations',
          'GET',
          '/v1/users/u0/recommendations?limit=100&category=Comedy&exclude_seen=false&include=attributes',
        );
        expect(filtered.status).toBe(200);
        comedies = filtered.body.items;
        const profiles = await call<{ segments: { topCategories: { category: string }[] }[] }>(
          api.url,
          'getSegments',
          'GET',
          '/v1/segments',
        );
        expect(profiles.status).toBe(200);
        segments = profiles.body.segments;
      } finally {
        await api.close();
      }
      const lines = await exportedLines(env, manifest);

      // Assess: 0 of N already rated, in the API and the export; every reason a film the user liked.
      const all = [...served].flatMap(([userId, items]) => items.map((item) => ({ userId, ...item })));
      expect(all).toHaveLength(800);
      expect(all.filter((item) => ratings.get(item.userId)?.has(item.itemId))).toEqual([]);
      expect(lines).toHaveLength(800);
      expect(linesWithConsumedItems(lines, ratings)).toEqual([]);
      const reasons = all.filter((item) => item.reasonItemId !== undefined);
      expect(reasons.length).toBeGreaterThan(400);
      const disliked = reasons.filter(
        (item) => (ratings.get(item.userId)?.get(item.reasonItemId as string) ?? 0) < THRESHOLD,
      );
      expect(disliked).toEqual([]);

      // A genre filter matches any of a film's genres: every comedy, not only films whose one genre is Comedy.
      const allComedies = films.filter((film) => film.genres.includes('Comedy'));
      expect(comedies).toHaveLength(allComedies.length);
      expect(
        comedies.every((item) => (item.attributes?.category as string[] | undefined)?.includes('Comedy')),
      ).toBe(true);
      expect(allComedies.some((film) => film.genres.length > 1)).toBe(true);
      // Segment profiles count genres, not "Comedy|Drama" strings.
      const profiled = segments.flatMap((segment) => segment.topCategories.map((entry) => entry.category));
      expect(profiled.length).toBeGreaterThan(0);
      expect(profiled.every((category) => GENRES.includes(category))).toBe(true);
    } finally {
      await env.stop();
    }
  });
});
