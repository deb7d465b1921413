import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { applyEntityChunk, applyInteractionsChunk } from './apply-chunk';
import { type ChunkBuilder, type ChunkCounts, serializeCurated } from './chunk-builder';
import { type ChunkRead, ChunkReader, UnreadableSource } from './chunk-reader';
import { continuationKey, curatedPartKey, type SourceObject, rejectedPartKey } from './layout';
import { CsvSplitter, LineSplitter, type RecordSplitter } from './records';
import { RowValidator } from './validate';
import {
  type ReadPlan,
  type ChunkRecord,
  type IngestionLedger,
  type IngestionDeps,
  type IngestionOutcome,
  DEFAULT_CHUNK_ROWS,
  FileRejection,
} from './ingestion-types';
import { planRead, versionOf } from './read-plan';
import { saveLedger } from './ledger';
import { finalize, quarantine } from './finish-file';

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
    { forgotten: (await deps.forgottenUsers?.()) ?? new Set() },
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
      ? await applyInteractionsChunk(deps.featureStore, builder.interactions, token, deps.statShards)
      : await applyEntityChunk(deps.featureStore, source.dataset, builder.entities, token, deps.statShards);
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
