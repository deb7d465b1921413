import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  CAMPAIGN_COLUMNS,
  INTERACTIONS_COLUMNS,
  ITEMS_COLUMNS,
  USERS_COLUMNS,
} from '../../../shared/data/formats';
import { SYNTHETIC_PRESETS, SyntheticWorld } from '../../../shared/synthetic/generator';
import { writeSyntheticDataset } from '../../../shared/synthetic/write-files';

describe('SyntheticWorld', () => {
  const config = SYNTHETIC_PRESETS.tiny;

  it('is deterministic by seed', () => {
    const first = [...new SyntheticWorld(config).interactions()];
    const second = [...new SyntheticWorld(config).interactions()];
    const other = [...new SyntheticWorld({ ...config, seed: 8 }).interactions()];
    expect(second).toEqual(first);
    expect(other).not.toEqual(first);
  });

  it('produces about the requested number of interactions over known users and items', () => {
    const world = new SyntheticWorld(config);
    const rows = [...world.interactions()];
    const userIds = new Set(world.users.map((user) => user.userId));
    const itemIds = new Set(world.items.map((item) => item.itemId));
    expect(rows.length).toBeGreaterThan(config.interactions * 0.8);
    expect(rows.length).toBeLessThan(config.interactions * 1.2);
    expect(rows.every((row) => userIds.has(row.userId) && itemIds.has(row.itemId))).toBe(true);
  });

  it('orders each user’s events in time and follows the view → cart → purchase funnel', () => {
    const rows = [...new SyntheticWorld(config).interactions()];
    const counts = { view: 0, add_to_cart: 0, purchase: 0 };
    const outOfOrder: number[] = [];
    const purchasesWithoutCart: number[] = [];
    for (let i = 1; i < rows.length; i++) {
      const previous = rows[i - 1];
      const row = rows[i];
      if (previous && row && previous.userId === row.userId && row.timestamp < previous.timestamp)
        outOfOrder.push(i);
      const cartedFirst =
        previous?.eventType === 'add_to_cart' &&
        previous.itemId === row?.itemId &&
        (row?.eventValue ?? 0) > 0;
      if (row?.eventType === 'purchase' && !cartedFirst) purchasesWithoutCart.push(i);
    }
    expect(outOfOrder).toEqual([]);
    expect(purchasesWithoutCart).toEqual([]);
    for (const row of rows) counts[row.eventType]++;
    expect(counts.view).toBeGreaterThan(counts.add_to_cart);
    expect(counts.add_to_cart).toBeGreaterThanOrEqual(counts.purchase);
    expect(counts.purchase).toBeGreaterThan(0);
  });

  it('gives campaign conversions that depend on behaviour (more active users convert more)', () => {
    const world = new SyntheticWorld(SYNTHETIC_PRESETS.small);
    const activity = new Map<string, number>();
    for (const row of world.interactions()) activity.set(row.userId, (activity.get(row.userId) ?? 0) + 1);
    const median = [...activity.values()].sort((a, b) => a - b)[Math.floor(activity.size / 2)] ?? 0;
    const rate = { high: [0, 0], low: [0, 0] };
    for (const exposure of world.campaignExposures()) {
      const bucket = (activity.get(exposure.userId) ?? 0) > median ? rate.high : rate.low;
      bucket[0] = (bucket[0] ?? 0) + exposure.converted;
      bucket[1] = (bucket[1] ?? 0) + 1;
    }
    const high = (rate.high[0] ?? 0) / (rate.high[1] ?? 1);
    const low = (rate.low[0] ?? 0) / (rate.low[1] ?? 1);
    expect(high).toBeGreaterThan(low * 1.3);
  });

  it('refuses an empty world', () => {
    expect(() => new SyntheticWorld({ seed: 1, users: 0, items: 10, interactions: 10 })).toThrow(
      'A synthetic dataset needs >= 1 user, >= 2 items and >= 1 interaction',
    );
  });
});

describe('writeSyntheticDataset', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mappa-synthetic-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the canonical CSV files with their headers and row counts', async () => {
    const files = await writeSyntheticDataset(dir, SYNTHETIC_PRESETS.tiny);

    const read = (path: string) => readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(read(files.interactions.path)[0]).toBe(INTERACTIONS_COLUMNS.join(','));
    expect(read(files.users.path)[0]).toBe(USERS_COLUMNS.join(','));
    expect(read(files.items.path)[0]).toBe(ITEMS_COLUMNS.join(','));
    expect(read(files.campaigns.path)[0]).toBe(CAMPAIGN_COLUMNS.join(','));
    expect(read(files.interactions.path)).toHaveLength(files.interactions.rows + 1);
    expect(files.users.rows).toBe(SYNTHETIC_PRESETS.tiny.users);
    expect(files.items.rows).toBe(SYNTHETIC_PRESETS.tiny.items);
    expect(read(files.interactions.path)[1]).toMatch(/^u\d+,i\d+,\d{10},(view|add_to_cart|purchase),[\d.]*$/);
  });

  it('writes identical content gzip-compressed when asked', async () => {
    const plain = await writeSyntheticDataset(join(dir, 'plain'), SYNTHETIC_PRESETS.tiny);
    const gzipped = await writeSyntheticDataset(join(dir, 'gz'), SYNTHETIC_PRESETS.tiny, { gzip: true });
    expect(gzipped.interactions.path.endsWith('.csv.gz')).toBe(true);
    expect(gunzipSync(readFileSync(gzipped.interactions.path)).toString('utf8')).toBe(
      readFileSync(plain.interactions.path, 'utf8'),
    );
  });
});
