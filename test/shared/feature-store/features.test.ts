import {
  type ColumnStat,
  emptyItem,
  emptyUser,
  FINGERPRINT_CAPACITY,
  mergeItemInteractions,
  mergeColumnStats,
  mergeNumeric,
  mergeUserInteractions,
  mergeVocabulary,
  RECENT_INTERACTIONS,
  recentPopularity,
  standardDeviation,
} from '../../../shared/feature-store/features';
import { interactionFingerprint } from '../../../shared/ingest/fingerprint';
import type { InteractionRow } from '../../../shared/data/records';

const T = 1_760_000_000;
const fingerprintOf = (row: InteractionRow) =>
  interactionFingerprint(row.item_id, row.timestamp, row.event_type);

describe('mergeNumeric', () => {
  it('merging in parts equals computing over all values at once', () => {
    const values = [3, 7, 7, 19, 2.5, 11];
    const once = mergeNumeric(undefined, values, 'a');
    const parts = mergeNumeric(mergeNumeric(undefined, values.slice(0, 2), 'a'), values.slice(2), 'b');
    expect(parts.count).toBe(6);
    expect(parts.mean).toBeCloseTo(once.mean, 12);
    expect(parts.m2).toBeCloseTo(once.m2, 9);
    expect(parts.min).toBe(2.5);
    expect(parts.max).toBe(19);
    // population standard deviation of the six values, by hand: mean 8.25, sum of squared deviations 186.875
    expect(standardDeviation(parts)).toBeCloseTo(Math.sqrt(186.875 / 6), 9);
    expect(parts.applied).toEqual(['a', 'b']);
  });
});

describe('mergeVocabulary', () => {
  it('counts values and keeps the total', () => {
    const stat = mergeVocabulary(
      mergeVocabulary(undefined, ['view', 'view'], 'a'),
      ['purchase', 'view'],
      'b',
    );
    expect(stat).toMatchObject({ total: 4, counts: { view: 3, purchase: 1 } });
  });
});

describe('mergeUserInteractions', () => {
  it('keeps the most recent interactions in time order and bounds the fingerprints', () => {
    const rows: InteractionRow[] = Array.from({ length: FINGERPRINT_CAPACITY + 10 }, (_, index) => ({
      user_id: 'u',
      item_id: `i${index}`,
      timestamp: T + (FINGERPRINT_CAPACITY + 10 - index), // newest first, to test sorting
      event_type: 'view',
    }));
    const merged = mergeUserInteractions(emptyUser('u'), rows, 'tok', 't1', fingerprintOf, () => []);
    expect(merged.recent).toHaveLength(RECENT_INTERACTIONS);
    expect(merged.recent.at(-1)).toEqual({
      item_id: 'i0',
      timestamp: T + FINGERPRINT_CAPACITY + 10,
      event_type: 'view',
    });
    expect(Object.keys(merged.fingerprints)).toHaveLength(FINGERPRINT_CAPACITY);
    expect(merged.fingerprints[fingerprintOf(rows[0] as InteractionRow)]).toBe('t1');
    expect(merged.fingerprints[fingerprintOf(rows.at(-1) as InteractionRow)]).toBeUndefined();
  });

  it('does not change the stored record it was given', () => {
    const stored = emptyUser('u');
    mergeUserInteractions(
      stored,
      [{ user_id: 'u', item_id: 'i', timestamp: T, event_type: 'purchase', event_value: 5 }],
      'a',
      'x',
      fingerprintOf,
      () => ['books'],
    );
    expect(stored).toEqual(emptyUser('u'));
  });
});

describe('item popularity', () => {
  it('counts recent days relative to a date and drops days beyond the window', () => {
    const day = 86_400;
    const rows: InteractionRow[] = [0, 1, 1, 10, 100].map((daysAgo) => ({
      user_id: 'u',
      item_id: 'i',
      timestamp: T - daysAgo * day,
      event_type: 'view',
    }));
    const item = mergeItemInteractions(emptyItem('i'), rows, 'a');
    expect(item.event_count).toBe(5);
    expect(recentPopularity(item, T, 7)).toBe(3);
    expect(recentPopularity(item, T, 30)).toBe(4);
    expect(Object.keys(item.daily_counts)).toHaveLength(3); // the day 100 days ago is outside the 60-day window
  });
});

describe('mergeColumnStats (statistics shards)', () => {
  it('merges numeric shards into the statistic of all their values', () => {
    const values = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7];
    const whole = mergeNumeric(undefined, values, 'all');
    const parts = [values.slice(0, 3), values.slice(3, 4), values.slice(4)].map((part, index) =>
      mergeNumeric(undefined, part, `t${index}`),
    );
    const merged = parts.slice(1).reduce<ColumnStat>(mergeColumnStats, parts[0] as ColumnStat);
    expect(merged).toMatchObject({ kind: 'numeric', count: whole.count, min: 1, max: 9 });
    if (merged.kind !== 'numeric') throw new Error('numeric expected');
    expect(merged.mean).toBeCloseTo(whole.mean, 10);
    expect(merged.m2).toBeCloseTo(whole.m2, 8);
    expect(merged.applied).toEqual(['t0', 't1', 't2']);
  });

  it('sums vocabulary shards, and refuses to merge different kinds', () => {
    const a = mergeVocabulary(undefined, ['x', 'y', 'x'], 'a');
    const b = mergeVocabulary(undefined, ['y', 'z'], 'b');
    expect(mergeColumnStats(a, b)).toMatchObject({
      kind: 'vocabulary',
      total: 5,
      counts: { x: 2, y: 2, z: 1 },
    });
    expect(() => mergeColumnStats(a, mergeNumeric(undefined, [1], 'c'))).toThrow(/cannot merge/);
  });
});
