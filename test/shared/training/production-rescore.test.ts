import { buildInteractionLog, leaveLastOut } from '../../../shared/ml/interactions';
import type { ServedModel } from '../../../shared/serving/model-store';
import { productionScorer, rescoreProduction } from '../../../shared/training/production-rescore';

/** A production model over items a, b, c (d is new since it was trained): one dimension, item a best. */
function production(): ServedModel {
  const ids = ['a', 'b', 'c'];
  const vectors = [3, 2, 1];
  return {
    items: {
      indexOf: (itemId: string) => {
        const index = ids.indexOf(itemId);
        return index < 0 ? undefined : index;
      },
      scoreItems: (_vector: Float32Array, indices: readonly number[]) =>
        indices.map((index) => vectors[index] as number),
    },
    tower: { vector: () => new Float32Array([1]) },
    userIds: new Map([['u1', 0]]),
  } as unknown as ServedModel;
}

describe('re-scoring the production model on the new run’s split', () => {
  const rows = ['u1', 'u2'].flatMap((user) =>
    ['c', 'd', 'b', 'a'].map((item, index) => ({
      user_id: user,
      item_id: item,
      timestamp: 100 + index,
      event_type: 'view',
      event_value: null,
    })),
  );
  const log = buildInteractionLog(rows);

  it('maps the run’s item indices to production’s and ranks items production never saw last', () => {
    const scorer = productionScorer(production(), log);
    const out = new Float32Array(log.itemIds.length);
    scorer.score(0, Int32Array.from([log.itemIds.indexOf('c')]), out);
    const byId = Object.fromEntries(log.itemIds.map((itemId, index) => [itemId, out[index]]));
    expect(byId).toEqual({ a: 3, b: 2, c: 1, d: Number.NEGATIVE_INFINITY });
  });

  it('measures production on this split: its best item is each user’s held-out one', () => {
    // Test item = the latest interaction (a), which production ranks first once c, d, b are seen.
    const metrics = rescoreProduction(production(), log, leaveLastOut(log));
    expect(metrics.users).toBe(2);
    expect(metrics.ndcg10).toBeCloseTo(1, 6);
  });
});
