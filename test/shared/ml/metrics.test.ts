import { evaluateFullRanking, evaluateSampled, historyFor, type Scorer } from '../../../shared/ml/evaluate';
import { buildInteractionLog, leaveLastOut } from '../../../shared/ml/interactions';
import { RankingAccumulator } from '../../../shared/ml/metrics';
import { topKIndices } from '../../../shared/ml/top-k';

describe('RankingAccumulator', () => {
  it('computes leave-one-out metrics by hand: ranks 1, 3 and 12', () => {
    const accumulator = new RankingAccumulator(10, 20);
    accumulator.add(1, [0, 1]);
    accumulator.add(3, [1, 2]);
    accumulator.add(12, [3]);
    const metrics = accumulator.result();
    expect(metrics.users).toBe(3);
    expect(metrics.hr10).toBeCloseTo(2 / 3, 12);
    expect(metrics.ndcg10).toBeCloseTo((1 + 1 / Math.log2(4)) / 3, 12); // (1 + 0.5) / 3
    expect(metrics.precision10).toBeCloseTo(2 / 30, 12);
    expect(metrics.recall10).toBeCloseTo(2 / 3, 12);
    expect(metrics.map10).toBeCloseTo((1 + 1 / 3) / 3, 12);
    expect(metrics.mrr).toBeCloseTo((1 + 1 / 3 + 1 / 12) / 3, 12);
    expect(metrics.coverage10).toBeCloseTo(4 / 20, 12);
  });
});

describe('topKIndices', () => {
  it('returns the k best indices in order, skipping excluded items', () => {
    const scores = [0.5, Number.NEGATIVE_INFINITY, 0.9, 0.1, 0.9, 0.7];
    expect(Array.from(topKIndices(scores, 3))).toEqual([2, 4, 5]);
    expect(Array.from(topKIndices(scores, 10))).toEqual([2, 4, 5, 0, 3]);
  });

  it('matches a full sort on random scores', () => {
    const scores = Array.from({ length: 1000 }, (_, index) => (Math.sin(index * 12.9898) * 43758.5453) % 1);
    const sorted = scores
      .map((score, index) => [score, index] as const)
      .sort((a, b) => b[0] - a[0])
      .slice(0, 25)
      .map(([, index]) => index);
    expect(Array.from(topKIndices(scores, 25))).toEqual(sorted);
  });
});

describe('the evaluation protocol', () => {
  // u1: a(10) b(20) c(30) d(40); u2: a(5) c(6) — too short; u3: b(1) b(9) e(3) a(9) — repeat and tie
  const rows = [
    { user_id: 'u1', item_id: 'a', timestamp: 10 },
    { user_id: 'u1', item_id: 'b', timestamp: 20 },
    { user_id: 'u2', item_id: 'a', timestamp: 5 },
    { user_id: 'u1', item_id: 'c', timestamp: 30 },
    { user_id: 'u1', item_id: 'd', timestamp: 40 },
    { user_id: 'u2', item_id: 'c', timestamp: 6 },
    { user_id: 'u3', item_id: 'b', timestamp: 1 },
    { user_id: 'u3', item_id: 'b', timestamp: 9 },
    { user_id: 'u3', item_id: 'e', timestamp: 3 },
    { user_id: 'u3', item_id: 'a', timestamp: 9 },
  ];
  const log = buildInteractionLog(rows);
  const split = leaveLastOut(log);
  const index = (item: string) => log.itemIds.indexOf(item);

  it('keeps the latest row of a repeated pair and breaks timestamp ties by input order', () => {
    const u3 = log.userIds.indexOf('u3');
    expect(Array.from(log.sequences[u3] ?? [], (item) => log.itemIds[item])).toEqual(['e', 'b', 'a']);
    expect(split.test[u3]).toBe(index('a'));
    expect(split.validation[u3]).toBe(index('b'));
  });

  it('does not evaluate users with fewer than 3 interactions', () => {
    expect(split.test[log.userIds.indexOf('u2')]).toBe(-1);
    expect(Array.from(split.train[log.userIds.indexOf('u2')] ?? [])).toEqual([index('a'), index('c')]);
  });

  it('ranks every item except the user’s other interactions, counting ties against the target', () => {
    // Prefers items alphabetically late: e > d > c > b > a.
    const byName: Scorer = {
      name: 'alphabet',
      score: (_user, _history, out) =>
        log.itemIds.forEach((item, position) => (out[position] = item.charCodeAt(0))),
    };
    const metrics = evaluateFullRanking(byName, split, log.itemIds.length);
    // u1: test d, history a b c excluded; candidates d, e → rank 2. u3: test a, history e b excluded; a vs c, d → rank 3.
    expect(metrics.users).toBe(2);
    expect(metrics.mrr).toBeCloseTo((1 / 2 + 1 / 3) / 2, 12);
    const constant: Scorer = { name: 'constant', score: (_user, _history, out) => out.fill(1) };
    expect(evaluateFullRanking(constant, split, log.itemIds.length).mrr).toBeCloseTo((1 / 2 + 1 / 3) / 2, 12);
  });

  it('gives the test scorer the validation item as history, and samples only unseen negatives', () => {
    const u1 = log.userIds.indexOf('u1');
    expect(Array.from(historyFor(split, u1, 'test'), (item) => log.itemIds[item])).toEqual(['a', 'b', 'c']);
    expect(Array.from(historyFor(split, u1, 'validation'), (item) => log.itemIds[item])).toEqual(['a', 'b']);
    const perfect: Scorer = {
      name: 'oracle',
      score: (user, _history, out) =>
        out.fill(0).fill(1, split.test[user] as number, (split.test[user] as number) + 1),
    };
    expect(evaluateSampled(perfect, split, log.itemIds.length, 100, 1).hr10).toBe(1);
  });
});
