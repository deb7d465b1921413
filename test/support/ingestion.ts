import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { gunzipSync } from 'node:zlib';
import { openFeatureStore } from '../../shared/feature-store/feature-store';
import type { IngestionDeps, IngestionReport } from '../../shared/ingest/ingestion-types';
import { registerPreprocessHandler } from '../../shared/local/preprocess-wiring';
import { createLogger } from '../../shared/observability/logger';
import { startTestStack } from './local-stack';

/** Fixed "now" for timestamp plausibility: 2026-01-01T00:00:00Z. */
export const TEST_NOW = 1_767_225_600;

/** An embedded stack with the real preprocess handler registered on the drop folder. */
export async function startIngestionStack(
  overrides: Partial<IngestionDeps> = {},
  stackOptions: Parameters<typeof startTestStack>[0] = {},
) {
  const { stack, stop } = await startTestStack(stackOptions);
  const { deps, unregister } = registerPreprocessHandler(stack, {
    log: createLogger({ service: 'test', level: 'silent' }),
    nowSeconds: () => TEST_NOW,
    ...overrides,
  });
  const bucket = stack.names.dataBucket;
  const featureStore = openFeatureStore(stack.dynamoDb, stack.names.tables);

  /** Puts an object into the bucket and waits until every triggered invocation finished. */
  async function drop(key: string, body: string | Buffer): Promise<void> {
    await stack.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    await stack.drainEvents();
  }

  async function readText(key: string): Promise<string> {
    const object = await stack.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const bytes = Buffer.from((await object.Body?.transformToByteArray()) ?? new Uint8Array());
    return (key.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
  }

  async function report(relativeKey: string): Promise<IngestionReport> {
    return JSON.parse(await readText(`reports/ingestion/${relativeKey}.json`)) as IngestionReport;
  }

  /** An object's ETag without quotes, as S3 notifications carry it. */
  async function etagOf(key: string): Promise<string> {
    const head = await stack.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return (head.ETag ?? '').replace(/"/g, '');
  }

  async function keys(prefix: string): Promise<string[]> {
    const listed = await stack.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    return (listed.Contents ?? []).map((object) => object.Key ?? '').sort();
  }

  /** Curated rows of a dataset, parsed. */
  async function curatedRows(prefix: string): Promise<Record<string, unknown>[]> {
    const rows: Record<string, unknown>[] = [];
    for (const key of await keys(prefix)) {
      for (const line of (await readText(key)).split('\n')) if (line) rows.push(JSON.parse(line));
    }
    return rows;
  }

  return {
    stack,
    stop,
    deps,
    unregister,
    drop,
    readText,
    report,
    etagOf,
    keys,
    curatedRows,
    featureStore,
    bucket,
  };
}

export type IngestionStack = Awaited<ReturnType<typeof startIngestionStack>>;

/** Asserts the accounting invariant of a report. */
export function assertBalanced(report: IngestionReport): void {
  expect(report.rows_in).toBe(report.accepted + report.duplicates + report.rejected);
  expect(report.invariant_holds).toBe(true);
}
