import { Readable } from 'node:stream';
import { createGunzip, gunzipSync, constants as zlibConstants } from 'node:zlib';
import { deleteKeys, listKeys } from '../aws/s3-objects';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { FeatureStore } from '../feature-store/feature-store';
import type { VersionedTable } from '../feature-store/versioned-table';
import type { Logger } from '../observability/logger';
import type { Dataset } from '../resources/definitions';
import { applyEntityChunk, applyInteractionsChunk } from './apply-chunk';
import {
  addCounts,
  type ChunkBuilder,
  type ChunkCounts,
  emptyCounts,
  serializeCurated,
} from './chunk-builder';
import { type ChunkRead, ChunkReader, UnreadableSource } from './chunk-reader';
import type { Versioned } from '../feature-store/features';
import {
  continuationKey,
  curatedFolder,
  curatedPartKey,
  type SourceObject,
  mappingKeysFor,
  rootMappingKey,
  quarantinedFileKey,
  rejectedPartKey,
  rejectedRowsKey,
  reportKey,
} from './layout';
import {
  DEFAULT_MAPPING,
  delimiterByte,
  detectDelimiter,
  type Mapping,
  misplacedMappingField,
  parseMapping,
} from './mapping';
import { CsvSplitter, LineSplitter, type RecordSplitter } from './records';
import type { FileRejectReason } from './rules';
import { canonicalHeader, missingRequiredColumns, RowValidator } from './validate';

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
}

export type IngestionOutcome =
  | { status: 'completed' | 'quarantined' | 'partial'; report: IngestionReport }
  | { status: 'continued'; nextChunk: number; continuationKey: string };

const SNIFF_BYTES = 64 * 1024;

/**
 * Rows per chunk. A chunk is held in memory until it is applied, so this bounds
 * peak memory: at 50k rows a 5M-row file peaks within 1.5x of a 100k-row one
 * (bench/results/ingest.json); larger chunks save DynamoDB writes for users
 * spread over many chunks but grow memory with the chunk.
 */
export const DEFAULT_CHUNK_ROWS = 50_000;

/** A file-level problem: the whole file is quarantined with this reason. */
class FileRejection extends Error {
  constructor(
    readonly reason: FileRejectReason,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Ingests one drop-folder object (or continues it): streams it chunk by chunk,
 * validates and cleans rows, applies features exactly once, publishes curated
 * and rejected outputs and, at the end, the report. Safe to call again for the
 * same object version at any point: finished work is recognised and skipped.
 */
export async function ingestObject(deps: IngestionDeps, source: SourceObject): Promise<IngestionOutcome> {
  const ledgerKey = `${source.key}|${source.etag}`;
  let ledger = await deps.ledger.get(ledgerKey);
  if (ledger?.report && ledger.status !== 'in_progress') {
    deps.log.info('already ingested', { objectKey: source.key, etag: source.etag, status: ledger.status });
    return { status: ledger.status, report: ledger.report };
  }
  const startedAt = ledger?.started_at ?? new Date().toISOString();
  if (!ledger?.plan) {
    let plan: ReadPlan;
    try {
      plan = await planRead(deps, source);
    } catch (error) {
      if (error instanceof FileRejection) return quarantine(deps, source, error, startedAt);
      throw error;
    }
    ledger = await saveLedger(deps, ledgerKey, (stored) =>
      stored?.plan
        ? stored
        : {
            version: 0,
            applied: [],
            status: 'in_progress',
            plan,
            chunks: [],
            done_reading: false,
            started_at: startedAt,
          },
    );
  }
  const plan = ledger.plan as ReadPlan;
  const validator = new RowValidator(
    source.dataset,
    plan.header,
    plan.mapping,
    plan.format,
    (deps.nowSeconds ?? (() => Math.floor(Date.now() / 1000)))(),
  );

  let processedHere = 0;
  let reader: ChunkReader | undefined;
  let readAhead: Promise<ChunkRead> | undefined;
  // An abandoned read-ahead (continuation, failure, stale position) is dropped with its stream.
  const dropReader = async () => {
    readAhead?.catch(() => undefined);
    readAhead = undefined;
    await reader?.close();
    reader = undefined;
  };
  try {
    while (!ledger.done_reading) {
      const enoughTime =
        (deps.remainingTimeMs?.() ?? Number.POSITIVE_INFINITY) >= (deps.minRemainingMs ?? 300_000);
      if (processedHere >= (deps.maxChunksPerInvocation ?? Number.POSITIVE_INFINITY) || !enoughTime) {
        return await scheduleContinuation(deps, source, ledger.chunks.length);
      }
      const index = ledger.chunks.length;
      const last = ledger.chunks.at(-1);
      const started = Date.now();
      reader ??= await openChunkReader(
        deps,
        source,
        plan,
        validator,
        last?.end_offset ?? plan.dataStart,
        last?.next_line ?? plan.dataStartLine,
      );
      let chunk: ChunkRead;
      try {
        chunk = await (readAhead ?? reader.read());
      } catch (error) {
        if (!(error instanceof UnreadableSource)) throw error;
        // Nothing published yet: the file is unusable as a whole. Otherwise the rows before the break stay
        // ingested and the report says where reading stopped.
        if (ledger.chunks.length === 0)
          return await quarantine(deps, source, new FileRejection(error.reason, error.message), startedAt);
        return await finalize(deps, source, ledger, startedAt, error);
      }
      const { builder, exhausted } = chunk;
      // Read the next chunk while this one is applied and uploaded: the CPU work of
      // parsing overlaps the waits on DynamoDB, S3 and compression. Its failure is handled when it is
      // awaited (above); until then it must not count as an unhandled rejection.
      readAhead = exhausted ? undefined : reader.read();
      readAhead?.catch(() => undefined);
      const record = builder.size > 0 ? await publishChunk(deps, source, builder, index) : undefined;
      ledger = await saveLedger(deps, ledgerKey, (stored) => {
        const current = stored as IngestionLedger;
        if (current.chunks.length > index) return current; // a concurrent delivery recorded it first
        return {
          ...current,
          chunks: record ? [...current.chunks, record] : current.chunks,
          done_reading: exhausted,
        };
      });
      processedHere++;
      if (ledger.chunks.length !== index + 1 || ledger.chunks[index]?.end_offset !== builder.endOffset) {
        // Another delivery recorded chunks meanwhile: this stream (and its read-ahead) is behind the
        // ledger, so read on from the ledger's position instead.
        await dropReader();
      }
      if (record) {
        deps.log.info('chunk ingested', {
          objectKey: source.key,
          chunk: index,
          rows: record.rows_in,
          accepted: record.accepted,
          duplicates: record.duplicates,
          rejected: record.rejected,
          rowsPerSecond: Math.round(record.rows_in / Math.max((Date.now() - started) / 1000, 0.001)),
          bytesDone: record.end_offset,
        });
      }
    }
  } finally {
    await dropReader();
  }
  return finalize(deps, source, ledger, startedAt);
}

async function saveLedger(
  deps: IngestionDeps,
  key: string,
  update: (stored: IngestionLedger | undefined) => IngestionLedger,
): Promise<IngestionLedger> {
  let saved: IngestionLedger | undefined;
  await deps.ledger.updateEach([key], (_key, stored) => {
    const next = update(stored);
    saved = next;
    return next === stored ? undefined : next;
  });
  return saved as IngestionLedger;
}

/** Reads the object's first bytes and decides format, delimiter and header, or rejects the file. */
async function planRead(deps: IngestionDeps, source: SourceObject): Promise<ReadPlan> {
  const mapping = await loadMapping(deps, source);
  const head = await deps.s3.send(
    new HeadObjectCommand({ Bucket: deps.bucket, Key: source.key, ...versionOf(source) }),
  );
  const objectSize = head.ContentLength ?? 0;
  if (objectSize === 0) throw new FileRejection('empty_file', 'the file is empty');
  const sample = await readSample(deps, source);
  const gzip = sample.gzip;
  let bytes = sample.bytes;
  if (bytes.length === 0) throw new FileRejection('empty_file', 'the file is empty');
  if (bytes.includes(0))
    throw new FileRejection('binary_content', 'the file contains NUL bytes: it is binary, not text');
  const complete = bytes.length < SNIFF_BYTES ? bytes : bytes.subarray(0, lastCharacterBoundary(bytes));
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(complete);
  } catch {
    throw new FileRejection('invalid_encoding', 'the file is not UTF-8 text (export it as UTF-8)');
  }
  let dataStart = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    dataStart = 3;
    bytes = bytes.subarray(3);
  }
  if (bytes.toString('utf8').trim() === '') throw new FileRejection('empty_file', 'the file has no rows');
  const format = mapping.format ?? (/\.(jsonl|ndjson)(\.gz)?$/i.test(source.key) ? 'jsonl' : 'csv');
  if (format === 'jsonl') {
    return { format, gzip, delimiter: 0x2c, header: [], mapping, dataStart, dataStartLine: 1, objectSize };
  }
  const newline = bytes.indexOf(0x0a);
  const firstLine = bytes.toString('utf8', 0, newline < 0 ? bytes.length : newline).replace(/\r$/, '');
  const delimiter = mapping.delimiter ? delimiterByte(mapping.delimiter) : detectDelimiter(firstLine);
  let header: string[];
  let dataStartLine = 1;
  if (mapping.header) {
    header = canonicalHeader(mapping.header, mapping);
  } else {
    const splitter = new CsvSplitter({ delimiter });
    const first = [...splitter.push(Buffer.from(`${firstLine}\n`)), ...splitter.end()][0];
    header = canonicalHeader(first?.fields ?? [], mapping);
    dataStart += newline < 0 ? bytes.length : newline + 1;
    dataStartLine = 2;
  }
  const repeated = header.findIndex((name, column) => header.indexOf(name) !== column);
  if (repeated >= 0) {
    const name = header[repeated] as string;
    throw new FileRejection(
      'duplicate_columns',
      `column '${name}' appears twice in the header (columns ${header.indexOf(name) + 1} and ${repeated + 1}, after renames): which one holds the value is ambiguous`,
    );
  }
  const missing = missingRequiredColumns(source.dataset, header, mapping);
  if (missing.length > 0) {
    throw new FileRejection(
      'missing_required_columns',
      `required column(s) ${missing.join(', ')} missing; the header has ${header.join(', ') || 'no columns'} (add a _mapping.json to rename columns or supply a header)`,
    );
  }
  return { format, gzip, delimiter, header, mapping, dataStart, dataStartLine, objectSize };
}

function lastCharacterBoundary(bytes: Buffer): number {
  // Cut a possibly split multi-byte character at the end of the sample.
  let end = bytes.length;
  while (end > 0 && end > bytes.length - 4 && ((bytes[end - 1] as number) & 0xc0) === 0x80) end--;
  return end > 0 && (bytes[end - 1] as number) >= 0xc0 ? end - 1 : end;
}

async function loadMapping(deps: IngestionDeps, source: SourceObject): Promise<Mapping> {
  for (const key of mappingKeysFor(source.dataset, source.relativeKey)) {
    let text: string;
    try {
      const object = await deps.s3.send(new GetObjectCommand({ Bucket: deps.bucket, Key: key }));
      text = (await object.Body?.transformToString('utf8')) ?? '';
    } catch (error) {
      if (error instanceof NoSuchKey) continue;
      throw error;
    }
    try {
      const mapping = parseMapping(text);
      const misplaced = misplacedMappingField(
        mapping,
        source.dataset,
        key === rootMappingKey(source.dataset),
      );
      if (misplaced) throw new Error(misplaced);
      return mapping;
    } catch (error) {
      throw new FileRejection(
        'invalid_mapping',
        `${key}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  return DEFAULT_MAPPING;
}

/** The first SNIFF_BYTES of the decoded content, and whether the object is gzip. */
async function readSample(
  deps: IngestionDeps,
  source: SourceObject,
): Promise<{ bytes: Buffer; gzip: boolean }> {
  const object = await deps.s3.send(
    new GetObjectCommand({
      Bucket: deps.bucket,
      Key: source.key,
      ...versionOf(source),
      Range: `bytes=0-${SNIFF_BYTES - 1}`,
    }),
  );
  const head = Buffer.from((await object.Body?.transformToByteArray()) ?? new Uint8Array());
  const gzip = head[0] === 0x1f && head[1] === 0x8b;
  if (!gzip) return { bytes: head, gzip };
  try {
    // A truncated gzip prefix decompresses as far as it goes with a sync flush.
    const decoded = gunzipSync(head, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    return { bytes: decoded.subarray(0, SNIFF_BYTES), gzip };
  } catch (error) {
    throw new FileRejection(
      'corrupt_gzip',
      `the file looks gzip-compressed but does not decompress: ${String(error)}`,
    );
  }
}

/** The version the event named, as request parameters (none for an unversioned event). */
function versionOf(source: SourceObject): { VersionId?: string } {
  return source.versionId ? { VersionId: source.versionId } : {};
}

async function openObject(
  deps: IngestionDeps,
  source: SourceObject,
  offset: number,
  gzip: boolean,
): Promise<Readable> {
  const response = await deps.s3.send(
    new GetObjectCommand({
      Bucket: deps.bucket,
      Key: source.key,
      ...versionOf(source),
      ...(offset > 0 && !gzip ? { Range: `bytes=${offset}-` } : {}),
    }),
  );
  return response.Body as Readable;
}

/** Opens the object at a record boundary (`offset` bytes into the decoded content) for reading in chunks. */
async function openChunkReader(
  deps: IngestionDeps,
  source: SourceObject,
  plan: ReadPlan,
  validator: RowValidator,
  offset: number,
  line: number,
): Promise<ChunkReader> {
  const splitter: RecordSplitter =
    plan.format === 'csv'
      ? new CsvSplitter({
          delimiter: plan.delimiter,
          startOffset: offset,
          startLine: line,
          maxRecordBytes: plan.mapping.maxRecordBytes,
        })
      : new LineSplitter({
          startOffset: offset,
          startLine: line,
          maxRecordBytes: plan.mapping.maxRecordBytes,
        });
  const limit = deps.chunkRows ?? DEFAULT_CHUNK_ROWS;
  if (!plan.gzip && offset >= plan.objectSize)
    return new ChunkReader(Readable.from([]), splitter, validator, source.dataset, limit);
  const body = await openObject(deps, source, offset, plan.gzip);
  const stream = plan.gzip ? decompressFrom(body, offset) : (body as AsyncIterable<Buffer>);
  return new ChunkReader(stream, splitter, validator, source.dataset, limit);
}

/** gzip cannot be range-read: decompress from the start and skip `offset` decoded bytes. */
async function* decompressFrom(body: Readable, offset: number): AsyncIterable<Buffer> {
  const decoded = body.pipe(createGunzip());
  let toSkip = offset;
  try {
    for await (const raw of decoded as AsyncIterable<Buffer>) {
      if (toSkip >= raw.length) {
        toSkip -= raw.length;
        continue;
      }
      yield toSkip > 0 ? raw.subarray(toSkip) : raw;
      toSkip = 0;
    }
  } finally {
    decoded.destroy();
    body.destroy();
  }
}

/** Applies a chunk to the feature store and writes its curated and rejected parts. */
async function publishChunk(
  deps: IngestionDeps,
  source: SourceObject,
  builder: ChunkBuilder,
  index: number,
): Promise<ChunkRecord> {
  const token = `${source.key}|${source.etag}#${index}`;
  const outcome =
    source.dataset === 'interactions'
      ? await applyInteractionsChunk(deps.featureStore, builder.interactions, token)
      : await applyEntityChunk(deps.featureStore, source.dataset, builder.entities, token);
  const counts: ChunkCounts = {
    ...builder.counts,
    accepted: outcome.accepted.length,
    duplicates: outcome.duplicates,
  };
  let curatedKey: string | undefined;
  if (outcome.accepted.length > 0) {
    curatedKey = curatedPartKey(source, index);
    const body = await serializeCurated(source.dataset, outcome.accepted);
    await deps.s3.send(
      new PutObjectCommand({
        Bucket: deps.bucket,
        Key: curatedKey,
        Body: body,
        ContentType: 'application/x-ndjson',
        ContentEncoding: 'gzip',
      }),
    );
  }
  let rejectedKey: string | undefined;
  if (builder.rejected.length > 0) {
    rejectedKey = rejectedPartKey(source, index);
    const lines = builder.rejected.map((row) => JSON.stringify({ source_key: source.key, ...row }));
    await deps.s3.send(
      new PutObjectCommand({
        Bucket: deps.bucket,
        Key: rejectedKey,
        Body: `${lines.join('\n')}\n`,
        ContentType: 'application/x-ndjson',
      }),
    );
  }
  return {
    ...counts,
    index,
    end_offset: builder.endOffset,
    next_line: builder.nextLine,
    ...(curatedKey ? { curated_key: curatedKey } : {}),
    ...(rejectedKey ? { rejected_part_key: rejectedKey } : {}),
  };
}

async function scheduleContinuation(
  deps: IngestionDeps,
  source: SourceObject,
  nextChunk: number,
): Promise<IngestionOutcome> {
  const key = continuationKey(source, nextChunk);
  await deps.s3.send(
    new PutObjectCommand({
      Bucket: deps.bucket,
      Key: key,
      Body: JSON.stringify({
        key: source.key,
        etag: source.etag,
        ...(source.versionId ? { version_id: source.versionId } : {}),
        next_chunk: nextChunk,
      }),
      ContentType: 'application/json',
    }),
  );
  deps.log.info('continuing in a new invocation', { objectKey: source.key, nextChunk, continuationKey: key });
  return { status: 'continued', nextChunk, continuationKey: key };
}

async function finalize(
  deps: IngestionDeps,
  source: SourceObject,
  ledger: IngestionLedger,
  startedAt: string,
  unreadable?: UnreadableSource,
): Promise<IngestionOutcome> {
  const totals = ledger.chunks.reduce<ChunkCounts>((sum, chunk) => addCounts(sum, chunk), emptyCounts());
  const parts = ledger.chunks.flatMap((chunk) => (chunk.rejected_part_key ? [chunk.rejected_part_key] : []));
  let rejectedRows: string | undefined;
  if (parts.length > 0) {
    rejectedRows = rejectedRowsKey(source);
    const texts: string[] = [];
    for (const part of parts) {
      const object = await deps.s3.send(new GetObjectCommand({ Bucket: deps.bucket, Key: part }));
      texts.push((await object.Body?.transformToString('utf8')) ?? '');
    }
    await deps.s3.send(
      new PutObjectCommand({
        Bucket: deps.bucket,
        Key: rejectedRows,
        Body: texts.join(''),
        ContentType: 'application/x-ndjson',
      }),
    );
  }
  await removeSupersededCurated(deps, source);
  const status = unreadable ? 'partial' : 'completed';
  const lastChunk = ledger.chunks.at(-1);
  const report: IngestionReport = {
    source: { bucket: deps.bucket, key: source.key, etag: source.etag },
    dataset: source.dataset,
    status,
    ...totals,
    invariant_holds: totals.rows_in === totals.accepted + totals.duplicates + totals.rejected,
    chunks: ledger.chunks.length,
    outputs: {
      curated: ledger.chunks.flatMap((chunk) => (chunk.curated_key ? [chunk.curated_key] : [])),
      ...(rejectedRows ? { rejected_rows: rejectedRows } : {}),
      report: reportKey(source),
    },
    ...(unreadable
      ? {
          unreadable: {
            reason: unreadable.reason,
            message: unreadable.message,
            after_offset: lastChunk?.end_offset ?? 0,
            after_line: lastChunk?.next_line ?? 1,
            // The file as received, for the sender to export again.
            object: await copyToQuarantine(deps, source),
          },
        }
      : {}),
    started_at: startedAt,
    finished_at: new Date().toISOString(),
  };
  await writeReport(deps, source, report);
  await saveLedger(deps, `${source.key}|${source.etag}`, (stored) => ({
    ...(stored as IngestionLedger),
    status,
    report,
  }));
  // Parts go last: a retry of a finalize that stopped earlier still finds them.
  await deleteKeys(deps.s3, deps.bucket, parts);
  if (unreadable) {
    deps.log.warn('file partly ingested: it became unreadable', {
      objectKey: source.key,
      reason: unreadable.reason,
      afterOffset: report.unreadable?.after_offset,
      ...totals,
    });
  } else deps.log.info('file ingested', { objectKey: source.key, ...totals });
  return { status, report };
}

/** A newer version of the same key replaces the curated output of older versions. */
async function removeSupersededCurated(deps: IngestionDeps, source: SourceObject): Promise<void> {
  const folder = curatedFolder(source);
  // Every page: a large file's older version can leave more than one page of parts.
  const stale = (await listKeys(deps.s3, deps.bucket, folder)).filter(
    (key) => key.startsWith(folder) && !key.startsWith(`${folder}etag=${source.etag}/`),
  );
  await deleteKeys(deps.s3, deps.bucket, stale);
}

async function writeReport(
  deps: IngestionDeps,
  source: SourceObject,
  report: IngestionReport,
): Promise<void> {
  await deps.s3.send(
    new PutObjectCommand({
      Bucket: deps.bucket,
      Key: reportKey(source),
      Body: `${JSON.stringify(report, null, 2)}\n`,
      ContentType: 'application/json',
    }),
  );
}

/** Copies the received object (its exact version) under rejected/files/; returns the copy's key. */
async function copyToQuarantine(deps: IngestionDeps, source: SourceObject): Promise<string> {
  const target = quarantinedFileKey(source);
  await deps.s3.send(
    new CopyObjectCommand({
      Bucket: deps.bucket,
      Key: target,
      CopySource: `${deps.bucket}/${encodeURIComponent(source.key).replace(/%2F/g, '/')}${
        source.versionId ? `?versionId=${encodeURIComponent(source.versionId)}` : ''
      }`,
    }),
  );
  return target;
}

/** Moves an unreadable file to quarantine as a whole; nothing of it is published. */
async function quarantine(
  deps: IngestionDeps,
  source: SourceObject,
  rejection: FileRejection,
  startedAt: string,
): Promise<IngestionOutcome> {
  const target = await copyToQuarantine(deps, source);
  const report: IngestionReport = {
    source: { bucket: deps.bucket, key: source.key, etag: source.etag },
    dataset: source.dataset,
    status: 'quarantined',
    ...emptyCounts(),
    invariant_holds: true,
    chunks: 0,
    outputs: { curated: [], report: reportKey(source) },
    quarantine: { reason: rejection.reason, message: rejection.message, object: target },
    started_at: startedAt,
    finished_at: new Date().toISOString(),
  };
  await writeReport(deps, source, report);
  await saveLedger(deps, `${source.key}|${source.etag}`, (stored) => ({
    ...(stored ?? { version: 0, applied: [], chunks: [], done_reading: true, started_at: startedAt }),
    status: 'quarantined',
    report,
  }));
  await deps.s3.send(new DeleteObjectCommand({ Bucket: deps.bucket, Key: source.key }));
  deps.log.warn('file quarantined', {
    objectKey: source.key,
    reason: rejection.reason,
    detail: rejection.message,
  });
  return { status: 'quarantined', report };
}
