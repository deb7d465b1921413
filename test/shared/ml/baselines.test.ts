import { trendingHalfLifeDays, trendingScores } from '../../../shared/ml/baselines';
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
