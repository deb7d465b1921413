import { createHash } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { deleteKeys, listKeys } from '../aws/s3-objects';
import { incomingPrefix } from '../resources/definitions';
import { MAPPING_FILE_NAME } from '../ingest/mapping';
import type { Logger } from '../observability/logger';
import { EVENTS_STAGING_PREFIX } from './events';

/** Where compacted API events enter the drop folder. */
export const API_EVENTS_FOLDER = `${incomingPrefix('interactions')}api-events/`;

export interface CompactionResult {
  readonly stagedObjects: number;
  readonly events: number;
  /** The drop-folder files written, one per batch (none when nothing was staged). */
  readonly files: readonly string[];
}

/** Staged objects read at once: S3 answers each GET in milliseconds; one after another, 5,000 took 33 s. */
const READ_CONCURRENCY = 16;

/**
 * Moves staged API events into the drop folder as JSON Lines files of at most `maxObjects` staged objects
 * each, so ingestion sees a few files instead of one per request, and keeps going until the staging area is
 * empty or the time budget is spent. Each file is named by a hash of the staged keys it holds; they are
 * deleted only after the file is written. A run that dies in between leaves them staged, and the next run
 * writes them again — ingestion drops those as cross-file duplicates.
 */
export async function compactStagedEvents(
  s3: S3Client,
  bucket: string,
  options: { maxObjects?: number; now?: Date; log?: Logger; budgetMs?: number } = {},
): Promise<CompactionResult> {
  const started = Date.now();
  const budgetMs = options.budgetMs ?? Number.POSITIVE_INFINITY;
  let stagedObjects = 0;
  let events = 0;
  const files: string[] = [];
  for (;;) {
    const batch = await compactBatch(s3, bucket, options);
    if (!batch) break;
    stagedObjects += batch.stagedObjects;
    events += batch.events;
    files.push(batch.file);
    if (Date.now() - started > budgetMs) break;
  }
  return { stagedObjects, events, files };
}

async function readAll(s3: S3Client, bucket: string, keys: readonly string[]): Promise<string[]> {
  const bodies = new Array<string>(keys.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(READ_CONCURRENCY, keys.length) }, async () => {
      while (next < keys.length) {
        const index = next++;
        const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: keys[index] as string }));
        bodies[index] = (await object.Body?.transformToString('utf8')) ?? '';
      }
    }),
  );
  return bodies;
}

/** One batch: the oldest `maxObjects` staged objects into one drop-folder file; undefined when none. */
async function compactBatch(
  s3: S3Client,
  bucket: string,
  options: { maxObjects?: number; now?: Date; log?: Logger },
): Promise<{ stagedObjects: number; events: number; file: string } | undefined> {
  const maxObjects = options.maxObjects ?? 5_000;
  const keys = await listKeys(s3, bucket, EVENTS_STAGING_PREFIX, maxObjects);
  const batch = keys.sort().slice(0, maxObjects);
  if (batch.length === 0) return undefined;

  const bodies = await readAll(s3, bucket, batch);
  const body = bodies.map((text) => (text.endsWith('\n') || text === '' ? text : `${text}\n`)).join('');
  const events = body.split('\n').filter((line) => line.length > 0).length;
  const digest = createHash('sha256').update(batch.join('\n')).digest('hex').slice(0, 32);
  const day = (options.now ?? new Date()).toISOString().slice(0, 10);
  const file = `${API_EVENTS_FOLDER}${day}/${digest}.jsonl`;

  // The canonical mapping next to the files, so a mapping for other exports higher up
  // (a header-less MovieLens layout, say) never applies to them.
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: `${API_EVENTS_FOLDER}${MAPPING_FILE_NAME}`,
      Body: JSON.stringify({ format: 'jsonl' }),
      ContentType: 'application/json',
    }),
  );
  await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: file, Body: body, ContentType: 'application/x-ndjson' }),
  );
  await deleteKeys(s3, bucket, batch);
  options.log?.info('staged events compacted', { stagedObjects: batch.length, events, file });
  return { stagedObjects: batch.length, events, file };
}
