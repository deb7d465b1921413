import { evaluateFullRanking, type Scorer } from '../ml/evaluate';
import type { InteractionLog, Split } from '../ml/interactions';
import type { RankingMetrics } from '../ml/metrics';
import type { ServedModel } from '../serving/model-store';

/**
 * The production model as a scorer of this run's split, so the quality gate
 * compares the candidate with production on the same users, the same held-out
 * interactions and the same catalogue, not with a number measured on another
 * snapshot. Production scores with what it serves with: its user tower over
 * the user's history (the items it knows) and its item vectors; items it has
 * never seen cannot be recommended by it and rank last.
 */
export function productionScorer(production: ServedModel, log: InteractionLog): Scorer {
  const known: number[] = [];
  const productionIndex: number[] = [];
  const toProduction = Int32Array.from(log.itemIds, (itemId, index) => {
    const mapped = production.items.indexOf(itemId);
    if (mapped === undefined) return -1;
    known.push(index);
    productionIndex.push(mapped);
    return mapped;
  });
  const users = log.userIds.map((userId) => production.userIds.get(userId));
  return {
    name: 'production',
    score(user, history, out) {
      const productionHistory: number[] = [];
      for (const item of history) {
        const mapped = toProduction[item] as number;
        if (mapped >= 0) productionHistory.push(mapped);
      }
      out.fill(Number.NEGATIVE_INFINITY);
      if (productionHistory.length === 0 && users[user] === undefined) return;
      const vector = production.tower.vector(productionHistory, users[user]);
      const scores = production.items.scoreItems(vector, productionIndex);
      for (let position = 0; position < known.length; position++) {
        out[known[position] as number] = scores[position] as number;
      }
    },
  };
}

/** NDCG@10 and friends of the production model on this run's test interactions (full ranking). */
export function rescoreProduction(
  production: ServedModel,
  log: InteractionLog,
  split: Split,
): RankingMetrics {
  return evaluateFullRanking(productionScorer(production, log), split, log.itemIds.length, 'test');
}
