import type { Scorer } from './evaluate';
import type { Split } from './interactions';

/**
 * Non-neural baselines, trained in the same run as the model: the bar the model
 * must clear (quality gate) and the fallbacks serving uses for cold start.
 * All learn from every interaction before the test rows (training + validation).
 */

function knownInteractions(
  split: Split,
  visit: (user: number, item: number, position: number, length: number, weight: number) => void,
): void {
  for (let user = 0; user < split.train.length; user++) {
    const train = split.train[user] as Int32Array;
    const weights = split.trainWeights[user] as Float32Array;
    const validation = split.validation[user] as number;
    const length = train.length + (validation >= 0 ? 1 : 0);
    for (let position = 0; position < train.length; position++)
      visit(user, train[position] as number, position, length, weights[position] ?? 1);
    if (validation >= 0) visit(user, validation, train.length, length, split.validationWeights[user] ?? 1);
  }
}

/** Item scores that do not depend on the user. */
export function staticScorer(name: string, itemScores: Float32Array): Scorer {
  return { name, score: (_user, _history, out) => out.set(itemScores) };
}

/**
 * Popularity: the users who interacted with the item, each counted with the event policy's weight (1 without
 * one), less the weight of those whose feedback on it was negative.
 */
export function popularityScores(split: Split, numItems: number): Float32Array {
  const counts = new Float32Array(numItems);
  knownInteractions(split, (_user, item, _position, _length, weight) => {
    counts[item] = (counts[item] as number) + weight;
  });
  split.negatives.items.forEach((item, index) => {
    counts[item] = (counts[item] as number) - (split.negatives.weights[index] as number);
  });
  return counts;
}

/**
 * Trending: weighted popularity (negatives subtracted) with each interaction weighted by exp(-age / halfLife·ln2)
 * (half-life from the log's span), age measured from the latest known interaction.
 */
export function trendingScores(
  split: Split,
  numItems: number,
  timestamps: { train: Float64Array[]; validationTimes: Float64Array },
  halfLifeDays?: number,
): Float32Array {
  let latest = Number.NEGATIVE_INFINITY;
  let earliest = Number.POSITIVE_INFINITY;
  for (const times of timestamps.train) {
    for (const time of times) {
      latest = Math.max(latest, time);
      earliest = Math.min(earliest, time);
    }
  }
  for (const time of timestamps.validationTimes) if (time > 0) latest = Math.max(latest, time);
  const decay = Math.LN2 / ((halfLifeDays ?? trendingHalfLifeDays(latest - earliest)) * 86_400);
  const scores = new Float32Array(numItems);
  knownInteractions(split, (user, item, position, _length, weight) => {
    const train = timestamps.train[user] as Float64Array;
    const time =
      position < train.length ? (train[position] as number) : (timestamps.validationTimes[user] as number);
    scores[item] = (scores[item] as number) + weight * Math.exp(-decay * (latest - time));
  });
  split.negatives.items.forEach((item, index) => {
    const age = Math.max(0, latest - (split.negatives.timestamps[index] as number));
    scores[item] =
      (scores[item] as number) - (split.negatives.weights[index] as number) * Math.exp(-decay * age);
  });
  return scores;
}

/**
 * The trending half-life for a log spanning `spanSeconds`: a twentieth of the span, between a day and a year.
 * A fixed two weeks means nothing on a log of 22 years (every interaction but the last few weeks' weighs ~0)
 * and too much on one of three days.
 */
export function trendingHalfLifeDays(spanSeconds: number): number {
  const spanDays = Number.isFinite(spanSeconds) ? spanSeconds / 86_400 : 0;
  return Math.min(365, Math.max(1, spanDays / 20));
}

/** Top neighbours of each item by cosine similarity of co-occurrence (item-kNN). */
export interface ItemNeighbours {
  /** neighbours[i]: item indices, most similar first. */
  readonly neighbours: Int32Array[];
  readonly similarities: Float32Array[];
}

/**
 * Item-kNN from co-occurrence: for each item, the items its users also consumed (each user's latest
 * `historyCap` interactions), by cosine similarity. Only co-consumed pairs are ever touched, so the cost is
 * O(Σ history²) and memory O(items + interactions) — not O(items²), which a 10^6-item catalogue could not pay.
 */
export function itemCooccurrence(
  split: Split,
  numItems: number,
  neighboursPerItem = 100,
  historyCap = 200,
): ItemNeighbours {
  const histories: Int32Array[] = [];
  for (let user = 0; user < split.train.length; user++) {
    const train = split.train[user] as Int32Array;
    const validation = split.validation[user] as number;
    const full = validation >= 0 ? Int32Array.from([...train, validation]) : train;
    histories.push(full.subarray(Math.max(0, full.length - historyCap)));
  }
  const itemCounts = new Float64Array(numItems);
  for (const history of histories)
    for (const item of history) itemCounts[item] = (itemCounts[item] as number) + 1;
  // Users per item, as one flat array (CSR): offsets[item]..offsets[item + 1].
  const offsets = new Int32Array(numItems + 1);
  for (let item = 0; item < numItems; item++)
    offsets[item + 1] = (offsets[item] as number) + (itemCounts[item] as number);
  const usersOf = new Int32Array(offsets[numItems] as number);
  const filled = offsets.slice(0, numItems);
  histories.forEach((history, user) => {
    for (const item of history) {
      usersOf[filled[item] as number] = user;
      filled[item] = (filled[item] as number) + 1;
    }
  });
  const neighbours: Int32Array[] = [];
  const similarities: Float32Array[] = [];
  const together = new Float64Array(numItems);
  const touched = new Int32Array(numItems);
  for (let item = 0; item < numItems; item++) {
    let count = 0;
    for (let index = offsets[item] as number; index < (offsets[item + 1] as number); index++) {
      for (const other of histories[usersOf[index] as number] as Int32Array) {
        if (other === item) continue;
        if (together[other] === 0) touched[count++] = other;
        together[other] = (together[other] as number) + 1;
      }
    }
    const candidates: [number, number][] = [];
    for (let index = 0; index < count; index++) {
      const other = touched[index] as number;
      candidates.push([
        other,
        (together[other] as number) / Math.sqrt((itemCounts[item] as number) * (itemCounts[other] as number)),
      ]);
      together[other] = 0;
    }
    candidates.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    const top = candidates.slice(0, neighboursPerItem);
    neighbours.push(Int32Array.from(top.map(([other]) => other)));
    similarities.push(Float32Array.from(top.map(([, similarity]) => similarity)));
  }
  return { neighbours, similarities };
}

/** Item-kNN scorer: sum of similarities between each candidate and the user's recent history. */
export function itemKnnScorer(model: ItemNeighbours, recentItems = 50): Scorer {
  return {
    name: 'item_knn',
    score: (_user, history, out) => {
      out.fill(0);
      for (let position = Math.max(0, history.length - recentItems); position < history.length; position++) {
        const item = history[position] as number;
        const neighbours = model.neighbours[item];
        const similarities = model.similarities[item];
        if (!neighbours || !similarities) continue;
        for (let index = 0; index < neighbours.length; index++) {
          const other = neighbours[index] as number;
          out[other] = (out[other] as number) + (similarities[index] as number);
        }
      }
    },
  };
}
