import { curatedObjectRows } from '../ingest/curated-json';
import type { S3Client } from '@aws-sdk/client-s3';
import { listKeys, readTextIfExists } from '../aws/s3-objects';
import type { EventPolicy } from '../data/event-policy';
import { parseMapping } from '../ingest/mapping';
import { buildInteractionLog, type InteractionLog } from '../ml/interactions';
import { DATA_LAKE_PREFIXES, EVENT_POLICY_KEY } from '../resources/definitions';
import type { FactRow } from './segment-users';

/** Step 1 of a training run: what ingestion published under curated/, and the event policy to read it with. */
export interface CuratedData {
  readonly log: InteractionLog;
  /** The interactions mapping's `events` policy (absent: every event a positive of weight 1). */
  readonly eventPolicy?: EventPolicy;
  readonly rows: FactRow[];
  readonly interactions: number;
  readonly itemAttributes: Map<string, Record<string, unknown>>;
}

async function* curatedLines(
  s3: S3Client,
  bucket: string,
  prefix: string,
): AsyncGenerator<Record<string, unknown>> {
  for (const key of (await listKeys(s3, bucket, prefix))
    .filter((name) => name.endsWith('.jsonl.gz'))
    .sort()) {
    yield* curatedObjectRows(s3, bucket, key);
  }
}

/** Reads the curated interactions and item attributes published by ingestion. */
export async function loadCuratedData(
  s3: S3Client,
  bucket: string,
  forgotten: ReadonlySet<string> = new Set(),
): Promise<CuratedData> {
  const rows: FactRow[] = [];
  for await (const row of curatedLines(s3, bucket, `${DATA_LAKE_PREFIXES.curated}interactions/`)) {
    // Forgotten users' rows never reach a model, whatever the deletion job has rewritten yet.
    if (forgotten.has(String(row.user_id))) continue;
    rows.push({
      user_id: String(row.user_id),
      item_id: String(row.item_id),
      timestamp: Number(row.timestamp),
      event_type: typeof row.event_type === 'string' ? row.event_type : 'interaction',
      event_value: typeof row.event_value === 'number' ? row.event_value : null,
    });
  }
  const itemAttributes = new Map<string, Record<string, unknown>>();
  for await (const row of curatedLines(s3, bucket, `${DATA_LAKE_PREFIXES.curated}items/`)) {
    itemAttributes.set(String(row.item_id), row);
  }
  const eventPolicy = await loadEventPolicy(s3, bucket);
  return {
    log: buildInteractionLog(rows, eventPolicy),
    rows,
    interactions: rows.length,
    itemAttributes,
    ...(eventPolicy ? { eventPolicy } : {}),
  };
}

/** The `events` policy of `incoming/interactions/_mapping.json`, if the mapping declares one. */
export async function loadEventPolicy(s3: S3Client, bucket: string): Promise<EventPolicy | undefined> {
  const text = await readTextIfExists(s3, bucket, EVENT_POLICY_KEY);
  if (text === undefined) return undefined;
  try {
    return parseMapping(text).events;
  } catch (error) {
    // Ingestion quarantines files under a broken mapping; training must not guess what events mean either.
    throw new Error(`${EVENT_POLICY_KEY}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
