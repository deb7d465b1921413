import { deleteKeys, listKeys } from '../aws/s3-objects';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { addCounts, type ChunkCounts, emptyCounts } from './chunk-builder';
import { type UnreadableSource } from './chunk-reader';
import { curatedFolder, type SourceObject, quarantinedFileKey, rejectedRowsKey, reportKey } from './layout';
import {
  type IngestionReport,
  type IngestionLedger,
  type IngestionDeps,
  type IngestionOutcome,
  type FileRejection,
} from './ingestion-types';
import { saveLedger } from './ledger';

/** The end of a file: its report (completed or partial), or its quarantine as a whole. */
export async function finalize(
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
export async function removeSupersededCurated(deps: IngestionDeps, source: SourceObject): Promise<void> {
  const folder = curatedFolder(source);
  // Every page: a large file's older version can leave more than one page of parts.
  const stale = (await listKeys(deps.s3, deps.bucket, folder)).filter(
    (key) => key.startsWith(folder) && !key.startsWith(`${folder}etag=${source.etag}/`),
  );
  await deleteKeys(deps.s3, deps.bucket, stale);
}

export async function writeReport(
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
export async function copyToQuarantine(deps: IngestionDeps, source: SourceObject): Promise<string> {
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
export async function quarantine(
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
