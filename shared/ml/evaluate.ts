import { SeededRandom } from '../data/random';
import type { Split } from './interactions';
import { type RankingMetrics, RankingAccumulator } from './metrics';
import { topKIndices } from './top-k';

/**
 * Something that ranks the catalogue for a user given the history it may use.
 * `score` fills `out` (one score per item index); higher is better.
 */
export interface Scorer {
  readonly name: string;
  score(user: number, history: Int32Array, out: Float32Array): void;
  /** Optional batched form for models that score many users at once. */
  scoreBatch?(users: Int32Array, histories: Int32Array[], out: Float32Array[]): void;
}

export interface EvaluationResult {
  readonly full: RankingMetrics;
  readonly sampled100?: RankingMetrics;
}

type Target = 'validation' | 'test';

/** History a scorer may use when predicting the target: training rows, plus the validation row for the test. */
export function historyFor(split: Split, user: number, target: Target): Int32Array {
  const train = split.train[user] as Int32Array;
  if (target === 'validation') return train;
  const withValidation = new Int32Array(train.length + 1);
  withValidation.set(train);
  withValidation[train.length] = split.validation[user] as number;
  return withValidation;
}

function evaluatedUsers(split: Split): number[] {
  const users: number[] = [];
  for (let user = 0; user < split.test.length; user++)
    if ((split.test[user] as number) >= 0) users.push(user);
  return users;
}

/**
 * A fixed, seeded sample of at most `max` evaluated users (all of them when there are fewer): per-epoch
 * validation on a sample costs the same for 10^6 users as for 10^4, and the same users every epoch keep the
 * epochs comparable.
 */
export function evaluationSample(split: Split, max: number, seed = 1): number[] {
  const users = evaluatedUsers(split);
  if (users.length <= max) return users;
  new SeededRandom(seed).shuffle(users);
  return users.slice(0, max).sort((a, b) => a - b);
}

/** Scores users in batches of `batchSize` (models are much faster per batch). */
function* scoredUsers(
  scorer: Scorer,
  split: Split,
  users: number[],
  target: Target,
  numItems: number,
  batchSize = 256,
): Generator<{ user: number; history: Int32Array; scores: Float32Array }> {
  for (let start = 0; start < users.length; start += batchSize) {
    const batch = users.slice(start, start + batchSize);
    const histories = batch.map((user) => historyFor(split, user, target));
    const outputs = batch.map(() => new Float32Array(numItems));
    if (scorer.scoreBatch) scorer.scoreBatch(Int32Array.from(batch), histories, outputs);
    else
      batch.forEach((user, index) =>
        scorer.score(user, histories[index] as Int32Array, outputs[index] as Float32Array),
      );
    for (let index = 0; index < batch.length; index++) {
      yield {
        user: batch[index] as number,
        history: histories[index] as Int32Array,
        scores: outputs[index] as Float32Array,
      };
    }
  }
}

/**
 * Full-ranking evaluation: every item is a candidate except the user's other
 * interactions (the history the scorer saw); the rank counts ties against the
 * target (a constant scorer cannot look good).
 */
export function evaluateFullRanking(
  scorer: Scorer,
  split: Split,
  numItems: number,
  target: Target = 'test',
  k = 10,
  /** Only these users (e.g. an `evaluationSample`); default every evaluated user. */
  users?: readonly number[],
): RankingMetrics {
  const accumulator = new RankingAccumulator(k, numItems);
  const targets = target === 'test' ? split.test : split.validation;
  for (const { user, history, scores } of scoredUsers(
    scorer,
    split,
    users ? [...users] : evaluatedUsers(split),
    target,
    numItems,
  )) {
    const item = targets[user] as number;
    for (let index = 0; index < history.length; index++) {
      const seen = history[index] as number;
      if (seen !== item) scores[seen] = Number.NEGATIVE_INFINITY;
    }
    const targetScore = scores[item] as number;
    let rank = 1;
    for (let candidate = 0; candidate < numItems; candidate++) {
      if (candidate !== item && (scores[candidate] as number) >= targetScore) rank++;
    }
    accumulator.add(rank, topKIndices(scores, k));
  }
  return accumulator.result();
}

/**
 * Sampled evaluation: rank the test item among `negatives` random items the user never interacted with —
 * 99 by default, the 100-item lists of the NCF paper's protocol.
 */
export function evaluateSampled(
  scorer: Scorer,
  split: Split,
  numItems: number,
  negatives = 99,
  seed = 42,
  k = 10,
): RankingMetrics {
  const random = new SeededRandom(seed);
  const accumulator = new RankingAccumulator(k, numItems);
  for (const { user, history, scores } of scoredUsers(
    scorer,
    split,
    evaluatedUsers(split),
    'test',
    numItems,
  )) {
    const item = split.test[user] as number;
    const excluded = new Set<number>(history);
    excluded.add(item);
    const targetScore = scores[item] as number;
    let rank = 1;
    let drawn = 0;
    const chosen = new Set<number>();
    const available = numItems - excluded.size;
    while (drawn < Math.min(negatives, available)) {
      const candidate = random.int(numItems);
      if (excluded.has(candidate) || chosen.has(candidate)) continue;
      chosen.add(candidate);
      drawn++;
      if ((scores[candidate] as number) >= targetScore) rank++;
    }
    accumulator.add(rank);
  }
  const metrics = accumulator.result();
  return { ...metrics, coverage10: Number.NaN };
}
