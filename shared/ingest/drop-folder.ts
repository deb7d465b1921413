import { listTombstones } from '../feature-store/forgotten-users';
import { DeleteObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3EventRecord } from 'aws-lambda';
import * as z from '../data/schema';
import { decodeS3EventKey } from '../aws/s3-keys';
import { type FeatureStoreTables, openFeatureStore } from '../feature-store/feature-store';
import { VersionedTable } from '../feature-store/versioned-table';
import { type IngestionDeps, type IngestionLedger, type IngestionOutcome } from './ingestion-types';
import { ingestObject } from './ingest-object';
import { classifyKey } from './layout';

const nonEmpty = z.string().check(z.minLength(1));
const continuationSchema = z.object({
  key: nonEmpty,
  etag: nonEmpty,
  version_id: z.optional(nonEmpty),
  next_chunk: z.int(),
});

/** Opens the ledger table of ingestion runs (one record per object version). */
export function openIngestionLedger(
  client: DynamoDBClient,
  tableName: string,
): VersionedTable<IngestionLedger> {
  return new VersionedTable<IngestionLedger>({
    client,
    tableName,
    keyAttributes: (key) => {
      const separator = key.lastIndexOf('|');
      return { pk: `ingest#${key.slice(0, separator)}`, sk: key.slice(separator + 1) };
    },
    logicalKey: (item) => `${String(item.pk).replace(/^ingest#/, '')}|${String(item.sk)}`,
    decode: (item) => item as unknown as IngestionLedger,
  });
}

/** Everything the drop-folder handler needs, built from clients and physical names. */
export function ingestionDeps(
  base: Omit<IngestionDeps, 'featureStore' | 'ledger'>,
  dynamoDb: DynamoDBClient,
  tables: FeatureStoreTables,
): IngestionDeps {
  return {
    ...base,
    featureStore: openFeatureStore(dynamoDb, tables),
    ledger: openIngestionLedger(dynamoDb, tables.ledger),
    forgottenUsers: async () =>
      new Set((await listTombstones({ client: dynamoDb, table: tables.ledger })).map((t) => t.userId)),
  };
}

export type RecordOutcome = IngestionOutcome | { status: 'skipped'; key: string; why: string };

/**
 * Handles one S3 notification record from the drop folder: a data file starts
 * (or resumes) ingestion, a continuation marker resumes a large file, a
 * mapping file or anything else is skipped.
 */
export async function handleDropFolderRecord(
  deps: IngestionDeps,
  record: S3EventRecord,
): Promise<RecordOutcome> {
  const key = decodeS3EventKey(record.s3.object.key);
  const entry = classifyKey(key);
  const log = deps.log.child({ objectKey: key });
  if (entry.kind === 'data') {
    return ingestObject(
      { ...deps, log },
      {
        key,
        etag: record.s3.object.eTag ?? '',
        ...(record.s3.object.versionId ? { versionId: record.s3.object.versionId } : {}),
        dataset: entry.dataset,
        relativeKey: entry.relativeKey,
      },
    );
  }
  if (entry.kind === 'continuation') {
    const object = await deps.s3.send(new GetObjectCommand({ Bucket: deps.bucket, Key: key }));
    const marker = continuationSchema.parse(
      JSON.parse((await object.Body?.transformToString('utf8')) ?? '{}'),
    );
    const target = classifyKey(marker.key);
    if (target.kind !== 'data')
      return { status: 'skipped', key, why: `continuation for a non-data key ${marker.key}` };
    const outcome = await ingestObject(
      { ...deps, log: deps.log.child({ objectKey: marker.key }) },
      {
        key: marker.key,
        etag: marker.etag,
        ...(marker.version_id ? { versionId: marker.version_id } : {}),
        dataset: target.dataset,
        relativeKey: target.relativeKey,
      },
    );
    await deps.s3.send(new DeleteObjectCommand({ Bucket: deps.bucket, Key: key }));
    return outcome;
  }
  const why = entry.kind === 'mapping' ? 'mapping file (read when data files arrive)' : entry.why;
  log.info('skipped drop-folder object', { why });
  return { status: 'skipped', key, why };
}
