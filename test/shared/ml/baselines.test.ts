import { itemCooccurrence, trendingHalfLifeDays, trendingScores } from '../../../shared/ml/baselines';
import { buildInteractionLog, leaveLastOut } from '../../../shared/ml/interactions';

const DAY = 86_400;

describe('the trending baseline', () => {
  it('derives its half-life from the log’s time span: a twentieth, between a day and a year', () => {
    expect(trendingHalfLifeDays(215 * DAY)).toBeCloseTo(10.75, 2); // MovieLens 100K's seven months
    expect(trendingHalfLifeDays(22 * 365 * DAY)).toBe(365);
    expect(trendingHalfLifeDays(3 * DAY)).toBe(1);
    expect(trendingHalfLifeDays(0)).toBe(1);
  });

  it('still weighs a 22-year log’s older years: an item popular two years ago is not worth nothing', () => {
    // Prepare: "old" is rated by 30 users two years before the end, "new" by 3 users in the last week.
    const end = 1_700_000_000;
    const rows = [
      ...Array.from({ length: 30 }, (_, user) => ({
        user_id: `o${user}`,
        item_id: 'old',
        timestamp: end - 730 * DAY,
      })),
      ...Array.from({ length: 3 }, (_, user) => ({
        user_id: `n${user}`,
        item_id: 'new',
        timestamp: end - user * DAY,
      })),
      { user_id: 'first', item_id: 'anchor', timestamp: end - 22 * 365 * DAY },
    ];
    const log = buildInteractionLog(rows);
    const split = leaveLastOut(log);
    const scores = trendingScores(split, log.itemIds.length, {
      train: split.trainTimestamps,
      validationTimes: new Float64Array(log.userIds.length),
    });
    const score = (itemId: string) => scores[log.itemIds.indexOf(itemId)] as number;
    // Half-life one year: 30 × 2^-2 = 7.5 beats 3 × ~1. With a fixed 14 days "old" would weigh ~1e-15.
    expect(score('old')).toBeCloseTo(7.5, 1);
    expect(score('old')).toBeGreaterThan(score('new'));
  });
});

describe('item-kNN from co-occurrence', () => {
  /** The dense reference: the full items × items co-occurrence matrix, then cosine and top-k per row. */
  function denseNeighbours(histories: Int32Array[], numItems: number, k: number) {
    const counts = new Float64Array(numItems);
    const together = Array.from({ length: numItems }, () => new Float64Array(numItems));
    for (const history of histories) {
      for (const item of history) counts[item] = (counts[item] as number) + 1;
      for (const item of history)
        for (const other of history)
          if (other !== item)
            (together[item] as Float64Array)[other] = ((together[item] as Float64Array)[other] as number) + 1;
    }
    return together.map((row, item) =>
      [...row.keys()]
        .filter((other) => (row[other] as number) > 0)
        .map(
          (other) =>
            [
              other,
              (row[other] as number) / Math.sqrt((counts[item] as number) * (counts[other] as number)),
            ] as const,
        )
        .sort((a, b) => b[1] - a[1] || a[0] - b[0])
        .slice(0, k),
    );
  }

  it('equals the dense computation on a small log, repeat purchases and capped histories included', () => {
    let state = 7;
    const next = () => (state = (state * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
    const rows = Array.from({ length: 1_500 }, (_, index) => ({
      user_id: `u${Math.floor(next() * 60)}`,
      item_id: `i${Math.floor(next() ** 2 * 40)}`,
      timestamp: 1_600_000_000 + index,
    }));
    const log = buildInteractionLog(rows);
    const split = leaveLastOut(log);
    const numItems = log.itemIds.length;
    const cap = 15;
    const knn = itemCooccurrence(split, numItems, 10, cap);
    const histories = split.train.map((train, user) => {
      const validation = split.validation[user] as number;
      const full = validation >= 0 ? Int32Array.from([...train, validation]) : train;
      return full.subarray(Math.max(0, full.length - cap));
    });
    const dense = denseNeighbours(histories, numItems, 10);
    for (let item = 0; item < numItems; item++) {
      const expected = dense[item] ?? [];
      expect([...(knn.neighbours[item] as Int32Array)]).toEqual(expected.map(([other]) => other));
      (knn.similarities[item] as Float32Array).forEach((similarity, index) =>
        expect(similarity).toBeCloseTo((expected[index] as readonly [number, number])[1], 5),
      );
    }
    expect(knn.neighbours.some((row) => row.length === 10)).toBe(true);
  });
});
