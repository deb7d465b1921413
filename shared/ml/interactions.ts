import { combineFeedback, type EventPolicy, type Feedback, feedbackOf } from '../data/event-policy';
import type { InteractionRow } from '../data/records';

/**
 * Interactions as training and evaluation see them: ids mapped to dense
 * indices, each user's positive history in time order, and the negatives.
 *
 * Protocol (shared by every run so results compare): each (user, item) pair's
 * events are combined under the event policy (a later negative overrides, the
 * strongest positive counts; see `combineFeedback`) — without a policy every
 * event is a positive of weight 1. A pair that ends positive is one entry of the
 * user's sequence at its latest positive event's time (ties: the row later in the
 * input); one that ends negative is a negative example; an ignored one is
 * neither (it still counts as seen). Per user the latest positive is the test
 * item, the second latest the validation item; users with fewer than 3
 * positives are trained on but not evaluated.
 */
export interface InteractionLog {
  /** Every user and item that occurs in the data, whatever its events meant. */
  readonly userIds: string[];
  readonly itemIds: string[];
  /** Per user: positive item indices in time order. */
  readonly sequences: Int32Array[];
  /** Per user: timestamps aligned with `sequences`. */
  readonly timestamps: Float64Array[];
  /** Per user: loss weights aligned with `sequences` (the event policy's weights; 1 without one). */
  readonly weights: Float32Array[];
  /** Pairs whose feedback is negative (disliked, dismissed, returned, not clicked). */
  readonly negatives: NegativeFeedback;
  /** Latest timestamp in the data (Unix seconds). */
  readonly maxTimestamp: number;
}

/** Negative (user, item) pairs, aligned arrays. */
export interface NegativeFeedback {
  readonly users: Int32Array;
  readonly items: Int32Array;
  readonly timestamps: Float64Array;
  readonly weights: Float32Array;
}

export interface Split {
  /** Per user: the training part of the sequence (everything but validation and test for evaluated users). */
  readonly train: Int32Array[];
  readonly trainTimestamps: Float64Array[];
  /** Per user: loss weights aligned with `train`. */
  readonly trainWeights: Float32Array[];
  /** Per user: validation item index, or -1 when the user is not evaluated. */
  readonly validation: Int32Array;
  /** Per user: weight of the validation item (0 when there is none). */
  readonly validationWeights: Float32Array;
  /** Per user: test item index, or -1 when the user is not evaluated. */
  readonly test: Int32Array;
  /** Negative examples, each with how much of its user's training sequence came before it. */
  readonly negatives: NegativeFeedback & { readonly positions: Int32Array };
}

type LogRow = Pick<InteractionRow, 'user_id' | 'item_id' | 'timestamp'> &
  Partial<Pick<InteractionRow, 'event_type'>> & { readonly event_value?: number | null };

/** Appendable typed-array columns (doubling), so 10^7 rows are five arrays rather than 10^7 objects. */
class Column<T extends Int32Array | Float64Array | Float32Array | Int8Array> {
  private values: T;
  length = 0;

  constructor(private readonly make: (size: number) => T) {
    this.values = make(1024);
  }

  push(value: number): void {
    if (this.length === this.values.length) {
      const grown = this.make(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = value;
  }

  get data(): T {
    return this.values.subarray(0, this.length) as T;
  }
}

/** Interns ids in first-seen order. */
class IdIndex {
  readonly ids: string[] = [];
  private readonly index = new Map<string, number>();

  of(id: string): number {
    let value = this.index.get(id);
    if (value === undefined) {
      value = this.ids.length;
      this.index.set(id, value);
      this.ids.push(id);
    }
    return value;
  }
}

/**
 * Builds the log from rows in input order (the order breaks timestamp ties). Columnar: the rows become typed
 * arrays (user, item, time, signal, weight) in one pass, are ordered by (time, input order) with one index
 * sort, grouped by user with a counting sort, and each user's pairs are combined with a per-item slot array —
 * no object per row or per pair. Users and items are numbered in order of first appearance in time.
 */
export function buildInteractionLog(rows: Iterable<LogRow>, policy?: EventPolicy): InteractionLog {
  const inputUsers = new IdIndex();
  const inputItems = new IdIndex();
  const userColumn = new Column((size) => new Int32Array(size));
  const itemColumn = new Column((size) => new Int32Array(size));
  const timeColumn = new Column((size) => new Float64Array(size));
  const signalColumn = new Column((size) => new Int8Array(size));
  const weightColumn = new Column((size) => new Float32Array(size));
  for (const row of rows) {
    const feedback = feedbackOf(policy, row.event_type ?? 'interaction', row.event_value);
    userColumn.push(inputUsers.of(row.user_id));
    itemColumn.push(inputItems.of(row.item_id));
    timeColumn.push(row.timestamp);
    signalColumn.push(feedback.signal);
    weightColumn.push(feedback.weight);
  }
  const count = userColumn.length;
  const [inputUser, inputItem, time, signal, weight] = [
    userColumn.data,
    itemColumn.data,
    timeColumn.data,
    signalColumn.data,
    weightColumn.data,
  ];
  // Rows may come in any order: events are combined in time order, ties in input order.
  const byTime = Int32Array.from({ length: count }, (_, index) => index);
  byTime.sort((a, b) => (time[a] as number) - (time[b] as number) || a - b);
  // Number users and items by first appearance in time, as the models and artifacts expect.
  const userOf = new Int32Array(inputUsers.ids.length).fill(-1);
  const itemOf = new Int32Array(inputItems.ids.length).fill(-1);
  const userIds: string[] = [];
  const itemIds: string[] = [];
  let maxTimestamp = Number.NEGATIVE_INFINITY;
  for (const row of byTime) {
    const user = inputUser[row] as number;
    const item = inputItem[row] as number;
    if ((userOf[user] as number) < 0) {
      userOf[user] = userIds.length;
      userIds.push(inputUsers.ids[user] as string);
    }
    if ((itemOf[item] as number) < 0) {
      itemOf[item] = itemIds.length;
      itemIds.push(inputItems.ids[item] as string);
    }
    if ((time[row] as number) > maxTimestamp) maxTimestamp = time[row] as number;
  }
  // Group by user (counting sort, stable: each user's rows stay in time order); `rank` is a row's place in time.
  const users = userIds.length;
  const start = new Int32Array(users + 1);
  for (let index = 0; index < count; index++) {
    const user = userOf[inputUser[index] as number] as number;
    start[user + 1] = (start[user + 1] as number) + 1;
  }
  for (let user = 0; user < users; user++)
    start[user + 1] = (start[user + 1] as number) + (start[user] as number);
  const fill = start.slice(0, users);
  const grouped = new Int32Array(count);
  const rankOf = new Int32Array(count);
  byTime.forEach((row, rank) => {
    const user = userOf[inputUser[row] as number] as number;
    grouped[fill[user] as number] = row;
    fill[user] = (fill[user] as number) + 1;
    rankOf[row] = rank;
  });

  // Per user, each pair's combined feedback and the time/rank of the event that decided it.
  const slotOf = new Int32Array(itemIds.length).fill(-1);
  const pairItem: number[] = [];
  const pairSignal: number[] = [];
  const pairWeight: number[] = [];
  const pairTime: number[] = [];
  const pairRank: number[] = [];
  const sequences: Int32Array[] = [];
  const timestamps: Float64Array[] = [];
  const weights: Float32Array[] = [];
  const negative = {
    users: [] as number[],
    items: [] as number[],
    timestamps: [] as number[],
    weights: [] as number[],
  };
  for (let user = 0; user < users; user++) {
    pairItem.length = pairSignal.length = pairWeight.length = pairTime.length = pairRank.length = 0;
    for (let at = start[user] as number; at < (start[user + 1] as number); at++) {
      const row = grouped[at] as number;
      const item = itemOf[inputItem[row] as number] as number;
      const next = { signal: signal[row] as Feedback['signal'], weight: weight[row] as number };
      const slot = slotOf[item] as number;
      if (slot < 0) {
        slotOf[item] = pairItem.length;
        pairItem.push(item);
        pairSignal.push(next.signal);
        pairWeight.push(next.weight);
        pairTime.push(time[row] as number);
        pairRank.push(rankOf[row] as number);
        continue;
      }
      const combined = combineFeedback(
        { signal: pairSignal[slot] as Feedback['signal'], weight: pairWeight[slot] as number },
        next,
      );
      pairSignal[slot] = combined.signal;
      pairWeight[slot] = combined.weight;
      if (next.signal !== 0 || combined.signal === 0) {
        pairTime[slot] = time[row] as number;
        pairRank[slot] = rankOf[row] as number;
      }
    }
    const positives: number[] = [];
    pairItem.forEach((item, slot) => {
      slotOf[item] = -1;
      if ((pairSignal[slot] as number) > 0) positives.push(slot);
      else if ((pairSignal[slot] as number) < 0) {
        negative.users.push(user);
        negative.items.push(item);
        negative.timestamps.push(pairTime[slot] as number);
        negative.weights.push(pairWeight[slot] as number);
      }
    });
    positives.sort(
      (a, b) =>
        (pairTime[a] as number) - (pairTime[b] as number) ||
        (pairRank[a] as number) - (pairRank[b] as number),
    );
    sequences.push(Int32Array.from(positives, (slot) => pairItem[slot] as number));
    timestamps.push(Float64Array.from(positives, (slot) => pairTime[slot] as number));
    weights.push(Float32Array.from(positives, (slot) => pairWeight[slot] as number));
  }
  return {
    userIds,
    itemIds,
    sequences,
    timestamps,
    weights,
    negatives: {
      users: Int32Array.from(negative.users),
      items: Int32Array.from(negative.items),
      timestamps: Float64Array.from(negative.timestamps),
      weights: Float32Array.from(negative.weights),
    },
    maxTimestamp,
  };
}

/** Leave-last-out split: test = latest, validation = second latest, for users with >= 3 interactions. */
/** Interactions a user needs to be evaluated under leave-last-out: training history, validation, test. */
export const MIN_EVALUABLE_INTERACTIONS = 3;

/** How many users the leave-last-out protocol can evaluate (distinct items ≥ MIN_EVALUABLE_INTERACTIONS). */
export function evaluableUsers(log: InteractionLog): number {
  return log.sequences.filter((sequence) => sequence.length >= MIN_EVALUABLE_INTERACTIONS).length;
}

export function leaveLastOut(log: InteractionLog): Split {
  const users = log.sequences.length;
  const validation = new Int32Array(users).fill(-1);
  const validationWeights = new Float32Array(users);
  const test = new Int32Array(users).fill(-1);
  const train: Int32Array[] = [];
  const trainTimestamps: Float64Array[] = [];
  const trainWeights: Float32Array[] = [];
  for (let user = 0; user < users; user++) {
    const sequence = log.sequences[user] as Int32Array;
    const times = log.timestamps[user] as Float64Array;
    const weights = log.weights[user] as Float32Array;
    if (sequence.length >= MIN_EVALUABLE_INTERACTIONS) {
      test[user] = sequence[sequence.length - 1] as number;
      validation[user] = sequence[sequence.length - 2] as number;
      validationWeights[user] = weights[weights.length - 2] as number;
      train.push(sequence.subarray(0, sequence.length - 2));
      trainTimestamps.push(times.subarray(0, times.length - 2));
      trainWeights.push(weights.subarray(0, weights.length - 2));
    } else {
      train.push(sequence);
      trainTimestamps.push(times);
      trainWeights.push(weights);
    }
  }
  // A negative's context is the user's training positives before it.
  const positions = Int32Array.from(log.negatives.users, (user, index) =>
    countAtOrBefore(trainTimestamps[user] as Float64Array, log.negatives.timestamps[index] as number),
  );
  return {
    train,
    trainTimestamps,
    trainWeights,
    validation,
    validationWeights,
    test,
    negatives: { ...log.negatives, positions },
  };
}

/** How many of the sorted `times` are <= `time`. */
function countAtOrBefore(times: Float64Array, time: number): number {
  let low = 0;
  let high = times.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if ((times[middle] as number) <= time) low = middle + 1;
    else high = middle;
  }
  return low;
}
