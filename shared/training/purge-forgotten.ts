import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { listKeys } from '../aws/s3-objects';
import { type LedgerTable, listTombstones, markCuratedClean } from '../feature-store/forgotten-users';
import { DATA_LAKE_PREFIXES } from '../resources/definitions';

/**
 * The deletion job: rewrites every curated interactions and users object that still holds a row of a
 * forgotten user, then stamps those users' tombstones `curatedCleanAt`. Each object is rewritten whole
 * under its own key (S3 replaces it atomically), so a crash leaves each object either old or clean and a
 * re-run finishes the work. Runs at the start of every training run and from `mappa forget`.
 */
export interface PurgeResult {
  /** Users whose tombstone this run stamped clean. */
  readonly users: number;
  readonly objectsRewritten: number;
  readonly rowsRemoved: number;
}

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

export async function purgeForgottenUsers(
  s3: S3Client,
  bucket: string,
  ledger: LedgerTable,
  now: Date,
): Promise<PurgeResult> {
  const tombstones = await listTombstones(ledger);
  const pending = tombstones.filter((tombstone) => !tombstone.curatedCleanAt).map((t) => t.userId);
  if (pending.length === 0) return { users: 0, objectsRewritten: 0, rowsRemoved: 0 };
  const forgotten = new Set(tombstones.map((tombstone) => tombstone.userId));
  let objectsRewritten = 0;
  let rowsRemoved = 0;
  for (const dataset of ['interactions', 'users'] as const) {
    const keys = (await listKeys(s3, bucket, `${DATA_LAKE_PREFIXES.curated}${dataset}/`)).filter((key) =>
      key.endsWith('.jsonl.gz'),
    );
    for (const key of keys) {
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const bytes = (await object.Body?.transformToByteArray()) ?? new Uint8Array();
      const text = (await gunzipAsync(bytes)).toString('utf8');
      const lines = text.split('\n').filter((line) => line !== '');
      const kept = lines.filter(
        (line) => !forgotten.has(String((JSON.parse(line) as { user_id?: unknown }).user_id)),
      );
      if (kept.length === lines.length) continue;
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: await gzipAsync(kept.length > 0 ? `${kept.join('\n')}\n` : ''),
          ContentType: 'application/x-ndjson',
          ContentEncoding: 'gzip',
        }),
      );
      objectsRewritten++;
      rowsRemoved += lines.length - kept.length;
    }
  }
  await markCuratedClean(ledger, pending, now);
  return { users: pending.length, objectsRewritten, rowsRemoved };
}

/** The ids of every forgotten user (training leaves their rows out whatever the purge got to). */
export async function forgottenUserIds(ledger: LedgerTable): Promise<Set<string>> {
  return new Set((await listTombstones(ledger)).map((tombstone) => tombstone.userId));
}
