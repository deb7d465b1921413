import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { Dataset } from '../resources/definitions';
import { encodeCuratedInteractions } from './curated-json';
import type { SourceRecord } from './records';
import type { RowRejectReason } from './rules';
import type { EntityRow, InteractionRow } from '../data/records';
import type { RowValidator } from './validate';

/** Counts of one chunk; a file's report is the sum over its chunks. */
export interface ChunkCounts {
  rows_in: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  rejected_by_reason: Partial<Record<RowRejectReason, number>>;
  unknown_event_types: Record<string, number>;
}

export function emptyCounts(): ChunkCounts {
  return {
    rows_in: 0,
    accepted: 0,
    duplicates: 0,
    rejected: 0,
    rejected_by_reason: {},
    unknown_event_types: {},
  };
}

export function addCounts(total: ChunkCounts, part: ChunkCounts): ChunkCounts {
  const sum = {
    ...total,
    rejected_by_reason: { ...total.rejected_by_reason },
    unknown_event_types: { ...total.unknown_event_types },
  };
  sum.rows_in += part.rows_in;
  sum.accepted += part.accepted;
  sum.duplicates += part.duplicates;
  sum.rejected += part.rejected;
  for (const [reason, n] of Object.entries(part.rejected_by_reason) as [RowRejectReason, number][]) {
    sum.rejected_by_reason[reason] = (sum.rejected_by_reason[reason] ?? 0) + n;
  }
  for (const [type, n] of Object.entries(part.unknown_event_types)) {
    sum.unknown_event_types[type] = (sum.unknown_event_types[type] ?? 0) + n;
  }
  return sum;
}

/** A quarantined row as written to `rejected/…jsonl`. */
export interface RejectedRow {
  readonly line: number;
  readonly reason: RowRejectReason;
  readonly message: string;
  readonly raw: string;
}

/**
 * Collects one chunk: validates each record, keeps clean rows for the feature
 * store and curated output, quarantines the rest with reasons. Pure; memory is
 * bounded by the chunk size.
 */
export class ChunkBuilder {
  readonly interactions: InteractionRow[] = [];
  readonly entities: EntityRow[] = [];
  readonly rejected: RejectedRow[] = [];
  readonly counts: ChunkCounts = emptyCounts();
  /** Byte offset and line just past the last record added. */
  endOffset = 0;
  nextLine = 1;

  constructor(
    private readonly validator: RowValidator,
    readonly dataset: Dataset,
  ) {}

  add(record: SourceRecord): void {
    this.counts.rows_in++;
    this.endOffset = record.endOffset;
    this.nextLine = record.nextLine;
    const result = this.validator.validate(record);
    if (!result.ok) {
      this.counts.rejected++;
      const { reason, message } = result.rejection;
      this.counts.rejected_by_reason[reason] = (this.counts.rejected_by_reason[reason] ?? 0) + 1;
      // A forgotten user's row is counted, never stored: the quarantine would otherwise keep their data.
      this.rejected.push({
        line: record.line,
        reason,
        message,
        raw: reason === 'user_forgotten' ? '' : record.raw,
      });
      return;
    }
    if (result.clean.dataset === 'interactions') {
      this.interactions.push(result.clean.row);
      if (result.unknownEventType) {
        const type = result.clean.row.event_type;
        this.counts.unknown_event_types[type] = (this.counts.unknown_event_types[type] ?? 0) + 1;
      }
    } else {
      this.entities.push(result.clean.row);
    }
  }

  get size(): number {
    return this.counts.rows_in;
  }
}

/** One curated JSON line for a user or item row. */
function entityLine(dataset: Dataset, entity: EntityRow): string {
  return JSON.stringify({ [dataset === 'users' ? 'user_id' : 'item_id']: entity.id, ...entity.attributes });
}

const gzipAsync = promisify(gzip);
/** Output in 1 MiB pieces: with the 16 KiB default, each chunk's compression was hundreds of callbacks on the main thread. */
const GZIP_OPTIONS = { level: 1, chunkSize: 1 << 20 };

/**
 * A chunk's curated output as gzip JSON Lines. Level 1: curated parts are
 * re-read by the training job, not archived, and the default level 6 costs more
 * CPU than parsing and validating the rows; the async call compresses on
 * libuv's thread pool, off the main thread, while the next chunk is read.
 */
export function serializeCurated(
  dataset: Dataset,
  rows: readonly (InteractionRow | EntityRow)[],
): Promise<Buffer> {
  if (dataset === 'interactions')
    return gzipAsync(encodeCuratedInteractions(rows as InteractionRow[]), GZIP_OPTIONS);
  const lines = (rows as EntityRow[]).map((row) => entityLine(dataset, row));
  return gzipAsync(`${lines.join('\n')}\n`, GZIP_OPTIONS);
}
