import { type S3Client } from '@aws-sdk/client-s3';
import type { FeatureStore } from '../feature-store/feature-store';
import type { VersionedTable } from '../feature-store/versioned-table';
import type { Logger } from '../observability/logger';
import type { Dataset } from '../resources/definitions';
import { type ChunkCounts } from './chunk-builder';
import { type UnreadableSource } from './chunk-reader';
import type { Versioned } from '../feature-store/features';
import { type Mapping } from './mapping';
import type { FileRejectReason } from './rules';

/** How a file is read, decided once from its first bytes and kept in the ledger for continuations. */
export interface ReadPlan {
  readonly format: 'csv' | 'jsonl';
  readonly gzip: boolean;
  readonly delimiter: number;
  /** Canonical column names (CSV). */
  readonly header: string[];
  readonly mapping: Mapping;
  /** Byte offset (decoded) and line where data rows start. */
  readonly dataStart: number;
  readonly dataStartLine: number;
  /** Size of the stored object in bytes (compressed size for gzip). */
  readonly objectSize: number;
}

export interface ChunkRecord extends ChunkCounts {
  readonly index: number;
  readonly end_offset: number;
  readonly next_line: number;
  readonly curated_key?: string;
  readonly rejected_part_key?: string;
}

export interface IngestionReport {
  readonly source: { bucket: string; key: string; etag: string };
  readonly dataset: Dataset;
  /** `partial`: the file became unreadable part-way (see `unreadable`); the rows before that were ingested. */
  readonly status: 'completed' | 'quarantined' | 'partial';
  readonly rows_in: number;
  readonly accepted: number;
  readonly duplicates: number;
  readonly rejected: number;
  readonly rejected_by_reason: ChunkCounts['rejected_by_reason'];
  readonly unknown_event_types: Record<string, number>;
  /** rows_in = accepted + duplicates + rejected; false would be a bug. */
  readonly invariant_holds: boolean;
  readonly chunks: number;
  readonly outputs: { curated: string[]; rejected_rows?: string; report: string };
  readonly quarantine?: { reason: FileRejectReason; message: string; object: string };
  /** Where a `partial` file stopped being readable: rows after that byte offset could not be read. */
  readonly unreadable?: {
    reason: UnreadableSource['reason'];
    message: string;
    after_offset: number;
    after_line: number;
    object: string;
  };
  readonly started_at: string;
  readonly finished_at: string;
}

export interface IngestionLedger extends Versioned {
  status: 'in_progress' | 'completed' | 'quarantined' | 'partial';
  plan?: ReadPlan;
  chunks: ChunkRecord[];
  done_reading: boolean;
  started_at: string;
  report?: IngestionReport;
}

export interface IngestionDeps {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly featureStore: FeatureStore;
  readonly ledger: VersionedTable<IngestionLedger>;
  readonly log: Logger;
  /** Current time in Unix seconds (timestamp plausibility). @default Date.now */
  readonly nowSeconds?: () => number;
  /** Rows per chunk; each chunk is applied and published as a unit. @default DEFAULT_CHUNK_ROWS */
  readonly chunkRows?: number;
  /** Milliseconds left in this invocation (Lambda's `getRemainingTimeInMillis`). @default unlimited */
  readonly remainingTimeMs?: () => number;
  /** Start another chunk only with at least this much time left. @default 300_000 */
  readonly minRemainingMs?: number;
  /** Chunks to process before handing over to a new invocation (tests use 1). @default unlimited */
  readonly maxChunksPerInvocation?: number;
  /** Users who asked to be forgotten: their rows are dropped (counted as rejected, content not kept). */
  readonly forgottenUsers?: () => Promise<ReadonlySet<string>>;
  /** Items each column's statistics are spread over (STAT_SHARDS; 1 = one hot item per column, the bench's baseline). */
  readonly statShards?: number;
}

export type IngestionOutcome =
  | { status: 'completed' | 'quarantined' | 'partial'; report: IngestionReport }
  | { status: 'continued'; nextChunk: number; continuationKey: string };

/**
 * Rows per chunk. A chunk is held in memory until it is applied, so this bounds
 * peak memory: at 50k rows a 5M-row file peaks within 1.5x of a 100k-row one
 * (bench/results/ingest.json); larger chunks save DynamoDB writes for users
 * spread over many chunks but grow memory with the chunk.
 */
export const DEFAULT_CHUNK_ROWS = 50_000;

/** A file-level problem: the whole file is quarantined with this reason. */
export class FileRejection extends Error {
  constructor(
    readonly reason: FileRejectReason,
    message: string,
  ) {
    super(message);
  }
}
