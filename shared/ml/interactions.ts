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

interface PairState {
  feedback: Feedback;
  /** Time and input order of the event that decided the pair's current state. */
  time: number;
  order: number;
}

/** Builds the log from rows in input order (the order breaks timestamp ties). */
export function buildInteractionLog(rows: Iterable<LogRow>, policy?: EventPolicy): InteractionLog {
  const userIndex = new Map<string, number>();
  const itemIndex = new Map<string, number>();
  const userIds: string[] = [];
  const itemIds: string[] = [];
  const pairsByUser: Map<number, PairState>[] = [];
  let order = 0;
  let maxTimestamp = Number.NEGATIVE_INFINITY;
  // Rows may come in any order: combine each pair's events in time order.
  const ordered = [...rows].map((row, index) => ({ row, index }));
  ordered.sort((a, b) => a.row.timestamp - b.row.timestamp || a.index - b.index);
  for (const { row } of ordered) {
    let user = userIndex.get(row.user_id);
    if (user === undefined) {
      user = userIds.length;
      userIndex.set(row.user_id, user);
      userIds.push(row.user_id);
      pairsByUser.push(new Map());
    }
    let item = itemIndex.get(row.item_id);
    if (item === undefined) {
      item = itemIds.length;
      itemIndex.set(row.item_id, item);
      itemIds.push(row.item_id);
    }
    const pairs = pairsByUser[user] as Map<number, PairState>;
    const feedback = feedbackOf(policy, row.event_type ?? 'interaction', row.event_value);
    const state = pairs.get(item);
    if (!state) pairs.set(item, { feedback, time: row.timestamp, order });
    else {
      state.feedback = combineFeedback(state.feedback, feedback);
      if (feedback.signal !== 0 || state.feedback.signal === 0) {
        state.time = row.timestamp;
        state.order = order;
      }
    }
    order++;
    if (row.timestamp > maxTimestamp) maxTimestamp = row.timestamp;
  }
  const sequences: Int32Array[] = [];
  const timestamps: Float64Array[] = [];
  const weights: Float32Array[] = [];
  const negative = {
    users: [] as number[],
    items: [] as number[],
    timestamps: [] as number[],
    weights: [] as number[],
  };
  pairsByUser.forEach((pairs, user) => {
    const positives: [number, PairState][] = [];
    for (const [item, state] of pairs) {
      if (state.feedback.signal > 0) positives.push([item, state]);
      else if (state.feedback.signal < 0) {
        negative.users.push(user);
        negative.items.push(item);
        negative.timestamps.push(state.time);
        negative.weights.push(state.feedback.weight);
      }
    }
    positives.sort((a, b) => a[1].time - b[1].time || a[1].order - b[1].order);
    sequences.push(Int32Array.from(positives, ([item]) => item));
    timestamps.push(Float64Array.from(positives, ([, state]) => state.time));
    weights.push(Float32Array.from(positives, ([, state]) => state.feedback.weight));
  });
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
