import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { DEFAULT_MAPPING, detectDelimiter } from '../ingest/mapping';
import { CsvSplitter, LineSplitter, type RecordSplitter } from '../ingest/records';
import { csvValidatorForHeader, type InteractionRow, RowValidator } from '../ingest/validate';

/**
 * Interactions as training and evaluation see them: ids mapped to dense
 * indices, each user's history in time order.
 *
 * Protocol (shared by every run so results compare): implicit feedback, every
 * interaction is a positive; a repeated (user, item) pair keeps its latest row;
 * per user the latest row is the test item (ties: the row later in the input),
 * the second latest the validation item; users with fewer than 3 interactions
 * are trained on but not evaluated.
 */
export interface InteractionLog {
  readonly userIds: string[];
  readonly itemIds: string[];
  /** Per user: item indices in time order (after de-duplicating pairs). */
  readonly sequences: Int32Array[];
  /** Per user: timestamps aligned with `sequences`. */
  readonly timestamps: Float64Array[];
  /** Latest timestamp in the data (Unix seconds). */
  readonly maxTimestamp: number;
}

export interface Split {
  /** Per user: the training part of the sequence (everything but validation and test for evaluated users). */
  readonly train: Int32Array[];
  readonly trainTimestamps: Float64Array[];
  /** Per user: validation item index, or -1 when the user is not evaluated. */
  readonly validation: Int32Array;
  /** Per user: test item index, or -1 when the user is not evaluated. */
  readonly test: Int32Array;
}

/** Builds the log from rows in input order (the order breaks timestamp ties). */
export function buildInteractionLog(
  rows: Iterable<Pick<InteractionRow, 'user_id' | 'item_id' | 'timestamp'>>,
): InteractionLog {
  const userIndex = new Map<string, number>();
  const itemIndex = new Map<string, number>();
  const userIds: string[] = [];
  const itemIds: string[] = [];
  // Per user: item → [timestamp, input order] of the latest row of the pair.
  const latest: Map<number, [number, number]>[] = [];
  let order = 0;
  let maxTimestamp = Number.NEGATIVE_INFINITY;
  for (const row of rows) {
    let user = userIndex.get(row.user_id);
    if (user === undefined) {
      user = userIds.length;
      userIndex.set(row.user_id, user);
      userIds.push(row.user_id);
      latest.push(new Map());
    }
    let item = itemIndex.get(row.item_id);
    if (item === undefined) {
      item = itemIds.length;
      itemIndex.set(row.item_id, item);
      itemIds.push(row.item_id);
    }
    const pairs = latest[user] as Map<number, [number, number]>;
    const seen = pairs.get(item);
    if (!seen || row.timestamp >= seen[0]) pairs.set(item, [row.timestamp, order]);
    order++;
    if (row.timestamp > maxTimestamp) maxTimestamp = row.timestamp;
  }
  const sequences: Int32Array[] = [];
  const timestamps: Float64Array[] = [];
  for (const pairs of latest) {
    const entries = [...pairs].sort((a, b) => a[1][0] - b[1][0] || a[1][1] - b[1][1]);
    sequences.push(Int32Array.from(entries.map(([item]) => item)));
    timestamps.push(Float64Array.from(entries.map(([, [time]]) => time)));
  }
  return { userIds, itemIds, sequences, timestamps, maxTimestamp };
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
  const test = new Int32Array(users).fill(-1);
  const train: Int32Array[] = [];
  const trainTimestamps: Float64Array[] = [];
  for (let user = 0; user < users; user++) {
    const sequence = log.sequences[user] as Int32Array;
    const times = log.timestamps[user] as Float64Array;
    if (sequence.length >= MIN_EVALUABLE_INTERACTIONS) {
      test[user] = sequence[sequence.length - 1] as number;
      validation[user] = sequence[sequence.length - 2] as number;
      train.push(sequence.subarray(0, sequence.length - 2));
      trainTimestamps.push(times.subarray(0, times.length - 2));
    } else {
      train.push(sequence);
      trainTimestamps.push(times);
    }
  }
  return { train, trainTimestamps, validation, test };
}

/** Reads a canonical interactions CSV or JSONL file (optionally .gz), rejecting nothing silently. */
export async function readInteractionsFile(
  path: string,
): Promise<{ rows: InteractionRow[]; rejected: number }> {
  const jsonl = /\.(jsonl|ndjson)(\.gz)?$/i.test(path);
  const stream = path.endsWith('.gz') ? createReadStream(path).pipe(createGunzip()) : createReadStream(path);
  let splitter: RecordSplitter | undefined = jsonl ? new LineSplitter() : undefined;
  let validator: RowValidator | undefined = jsonl
    ? new RowValidator('interactions', [], DEFAULT_MAPPING, 'jsonl', Math.floor(Date.now() / 1000))
    : undefined;
  const rows: InteractionRow[] = [];
  let rejected = 0;
  const take = (records: ReturnType<RecordSplitter['push']>) => {
    for (const record of records) {
      if (!validator) {
        validator = csvValidatorForHeader('interactions', record.fields, DEFAULT_MAPPING);
        continue;
      }
      const result = validator.validate(record);
      if (result.ok && result.clean.dataset === 'interactions') rows.push(result.clean.row);
      else rejected++;
    }
  };
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (!splitter) {
      const firstLine = chunk.toString('utf8', 0, Math.max(0, chunk.indexOf(0x0a)));
      splitter = new CsvSplitter({ delimiter: detectDelimiter(firstLine) });
    }
    take(splitter.push(chunk));
  }
  if (splitter) take(splitter.end());
  return { rows, rejected };
}
