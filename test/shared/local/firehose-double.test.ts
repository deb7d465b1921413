import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FirehoseClient, PutRecordBatchCommand, PutRecordCommand } from '@aws-sdk/client-firehose';
import type { S3Client } from '@aws-sdk/client-s3';
import { createFirehoseClient } from '../../../shared/aws/firehose-client';
import { MAX_ID_LENGTH } from '../../../shared/data/ids';
import {
  FIREHOSE_LIMITS,
  FirehoseDouble,
  type DeliveryStreamConfig,
} from '../../../shared/local/firehose-double';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../shared/local/local-account';
import { API_EVENTS_FOLDER, EVENTS_DELIVERY } from '../../../shared/resources/definitions';
import { eventsRecord, MAX_EVENTS_PER_REQUEST } from '../../../shared/serving/events';
import { assertBalanced, type IngestionStack, startIngestionStack, TEST_NOW } from '../../support/ingestion';

const STREAM = 'mappa-api-events';

/** Canonical events, distinct per (batch, index), as the events function sends them. */
function record(batch: number, count = 3): Buffer {
  return Buffer.from(
    eventsRecord(
      Array.from({ length: count }, (_, index) => ({
        user_id: `u${batch}`,
        item_id: `i${index}`,
        timestamp: TEST_NOW - 3_600 + batch * 10 + index,
        event_type: 'view',
      })),
    ),
  );
}

async function until(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the local Firehose double', () => {
  let env: IngestionStack;
  let firehose: FirehoseClient;
  beforeAll(async () => {
    // A 1 s interval so the age hint is observable; the deployed stream's 60 s is tested in test/infra.
    env = await startIngestionStack({}, { eventsDelivery: { bufferingIntervalSeconds: 1 } });
    firehose = env.stack.clientsFor('api-events').firehose;
  });
  afterAll(() => env.stop());

  const delivered = () => env.keys(API_EVENTS_FOLDER);

  it('buffers records and writes them as one object when the interval runs out, in order, named as Firehose names them', async () => {
    const before = new Set(await delivered());
    for (const batch of [1, 2, 3]) {
      const answer = await firehose.send(
        new PutRecordCommand({ DeliveryStreamName: STREAM, Record: { Data: record(batch) } }),
      );
      expect(answer.RecordId).toMatch(/^[0-9a-f]{32}$/);
      expect(answer.Encrypted).toBe(true);
    }
    expect(env.stack.firehose.pendingRecords()).toBe(3);
    await until(async () => env.stack.firehose.pendingRecords() === 0);
    await env.stack.drainEvents();
    const files = (await delivered()).filter((key) => !before.has(key));
    expect(files).toHaveLength(1);
    const day = new Date().toISOString().slice(0, 10);
    expect(files[0]).toMatch(
      new RegExp(
        `^${API_EVENTS_FOLDER}${day}/${STREAM}-1-${day}-\\d\\d-\\d\\d-\\d\\d-[0-9a-f-]{36}\\.jsonl$`,
      ),
    );
    expect(await env.readText(files[0] as string)).toBe(
      [record(1), record(2), record(3)].map((buffer) => buffer.toString()).join(''),
    );
    // Ingestion picks the file up like any drop-folder upload, in the canonical columns.
    const report = await env.report((files[0] as string).replace('incoming/', ''));
    assertBalanced(report);
    expect(report).toMatchObject({ rows_in: 9, accepted: 9, rejected: 0 });
  });

  it('takes the largest request the events API accepts as one record: 100 events of maximal ids', () => {
    const longest = 'x'.repeat(MAX_ID_LENGTH);
    const events = Array.from({ length: MAX_EVENTS_PER_REQUEST }, () => ({
      user_id: longest.replace(/x/g, '\u00e9'), // 2 UTF-8 bytes each
      item_id: longest.replace(/x/g, '"'), // escaped in JSON: 2 bytes each
      timestamp: 4_102_444_800,
      event_type: 'y'.repeat(64),
      event_value: 10_000_000,
    }));
    expect(Buffer.byteLength(eventsRecord(events))).toBeLessThan(FIREHOSE_LIMITS.recordBytes / 5);
  });

  it('takes batches and answers each record', async () => {
    // An administrator's client: the events function may only PutRecord.
    const operator = clientOf(env.stack.firehose);
    const answer = await operator.send(
      new PutRecordBatchCommand({
        DeliveryStreamName: STREAM,
        Records: [{ Data: record(10) }, { Data: record(11) }],
      }),
    );
    expect(answer).toMatchObject({ FailedPutCount: 0, Encrypted: true });
    expect(answer.RequestResponses).toHaveLength(2);
    operator.destroy();
    await env.stack.deliverEvents();
  });

  it('refuses what Firehose refuses: unknown streams, records over 1,000 KiB, batches over 500 records', async () => {
    const operator = createFirehoseClient({
      endpoint: env.stack.firehose.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    try {
      await expect(
        operator.send(new PutRecordCommand({ DeliveryStreamName: 'nope', Record: { Data: record(1) } })),
      ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
      await expect(
        operator.send(
          new PutRecordCommand({ DeliveryStreamName: STREAM, Record: { Data: Buffer.alloc(1_024_001, 97) } }),
        ),
      ).rejects.toMatchObject({
        name: 'InvalidArgumentException',
        message: expect.stringMatching(/1,000 KiB/),
      });
      await expect(
        operator.send(
          new PutRecordBatchCommand({
            DeliveryStreamName: STREAM,
            Records: Array.from({ length: 501 }, () => ({ Data: Buffer.from('x\n') })),
          }),
        ),
      ).rejects.toMatchObject({ name: 'InvalidArgumentException' });
      expect(env.stack.firehose.pendingRecords()).toBe(0);
    } finally {
      operator.destroy();
    }
  });

  it('writes a buffer as soon as it reaches its size hint', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mappa-firehose-'));
    const double = await startDouble(dataDir, env.stack.s3, {
      bufferingIntervalSeconds: 900,
      bufferingSizeMiB: 1,
    });
    const client = clientOf(double);
    try {
      const before = new Set(await delivered());
      const big = Buffer.alloc(600 * 1024, 97);
      await client.send(new PutRecordCommand({ DeliveryStreamName: STREAM, Record: { Data: big } }));
      expect(double.pendingRecords()).toBe(1);
      await client.send(new PutRecordCommand({ DeliveryStreamName: STREAM, Record: { Data: big } }));
      await until(async () => double.pendingRecords() === 0);
      const files = (await delivered()).filter((key) => !before.has(key));
      expect(files).toHaveLength(1);
      await env.stack.drainEvents();
    } finally {
      client.destroy();
      await double.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('answers ServiceUnavailableException beyond the stream quota, and the record is not taken', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mappa-firehose-'));
    const double = await startDouble(
      dataDir,
      env.stack.s3,
      {},
      { requestsPerSecond: 2, bytesPerSecond: 1_000_000 },
    );
    // One attempt: the SDK would otherwise retry the throttled call (as the events function's client does).
    const client = new FirehoseClient({
      endpoint: double.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      maxAttempts: 1,
    });
    try {
      // Six at once fall in at most two one-second windows of two requests each.
      const results = await Promise.allSettled(
        [1, 2, 3, 4, 5, 6].map((batch) =>
          client.send(new PutRecordCommand({ DeliveryStreamName: STREAM, Record: { Data: record(batch) } })),
        ),
      );
      const refused = results.filter((result) => result.status === 'rejected');
      expect(refused.length).toBeGreaterThanOrEqual(2);
      for (const result of refused) {
        expect((result as PromiseRejectedResult).reason).toMatchObject({
          name: 'ServiceUnavailableException',
          $metadata: { httpStatusCode: 503 },
        });
      }
      expect(double.pendingRecords()).toBe(6 - refused.length);
    } finally {
      client.destroy();
      await double.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('keeps what it accepted across a crash: a double restarted on the same directory delivers it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mappa-firehose-'));
    const before = new Set(await delivered());
    const first = await startDouble(dataDir, env.stack.s3);
    const client = clientOf(first);
    for (const batch of [20, 21]) {
      await client.send(
        new PutRecordCommand({ DeliveryStreamName: STREAM, Record: { Data: record(batch) } }),
      );
    }
    client.destroy();
    await first.stop(); // gone before its 60 s interval: nothing written yet
    expect((await delivered()).filter((key) => !before.has(key))).toEqual([]);

    const second = await startDouble(dataDir, env.stack.s3);
    try {
      expect(second.pendingRecords()).toBe(2);
      await second.flush();
      await env.stack.drainEvents();
      const files = (await delivered()).filter((key) => !before.has(key));
      expect(files).toHaveLength(1);
      expect(await env.readText(files[0] as string)).toBe(`${record(20).toString()}${record(21).toString()}`);
    } finally {
      await second.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('delivers at least once: a crash between the S3 write and the journal removal writes the buffer again, and ingestion counts the copy as duplicates', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mappa-firehose-'));
    const journalCopy = mkdtempSync(join(tmpdir(), 'mappa-firehose-journal-'));
    const before = new Set(await delivered());
    const first = await startDouble(dataDir, env.stack.s3);
    const client = clientOf(first);
    await client.send(new PutRecordCommand({ DeliveryStreamName: STREAM, Record: { Data: record(30) } }));
    client.destroy();
    // The journal as it was at the moment of the write: restoring it afterwards is the crash.
    cpSync(join(dataDir, STREAM), journalCopy, { recursive: true });
    await first.flush();
    await first.stop();
    rmSync(join(dataDir, STREAM), { recursive: true, force: true });
    cpSync(journalCopy, join(dataDir, STREAM), { recursive: true });

    const second = await startDouble(dataDir, env.stack.s3);
    try {
      await second.flush();
      await env.stack.drainEvents();
      const files = (await delivered()).filter((key) => !before.has(key)).sort();
      expect(files).toHaveLength(2);
      const reports = await Promise.all(files.map((key) => env.report(key.replace('incoming/', ''))));
      for (const report of reports) assertBalanced(report);
      expect(reports.reduce((sum, report) => sum + report.accepted, 0)).toBe(3);
      expect(reports.reduce((sum, report) => sum + report.duplicates, 0)).toBe(3);
    } finally {
      await second.stop();
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(journalCopy, { recursive: true, force: true });
    }
  });

  it('retries a failed S3 write until it succeeds, and writes the buffer once', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mappa-firehose-'));
    const before = new Set(await delivered());
    // A fault the emulator cannot produce: S3 failing the first two writes.
    const s3 = env.stack.account.newClientsFor('events-delivery').s3;
    let failures = 2;
    s3.middlewareStack.add(
      (next) => async (args) => {
        if (failures > 0) {
          failures--;
          throw Object.assign(new Error('We encountered an internal error. Please try again.'), {
            name: 'InternalError',
          });
        }
        return next(args);
      },
      { step: 'initialize', name: 'injectS3Fault' },
    );
    const errors: unknown[] = [];
    const double = await startDouble(
      dataDir,
      s3,
      { bufferingIntervalSeconds: 0 },
      undefined,
      (_stream, error) => errors.push(error),
    );
    const client = clientOf(double);
    try {
      await client.send(new PutRecordCommand({ DeliveryStreamName: STREAM, Record: { Data: record(40) } }));
      await until(async () => double.pendingRecords() === 0);
      await env.stack.drainEvents();
      expect(errors).toHaveLength(2);
      const files = (await delivered()).filter((key) => !before.has(key));
      expect(files).toHaveLength(1);
      expect(await env.readText(files[0] as string)).toBe(record(40).toString());
    } finally {
      client.destroy();
      await double.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

function streamConfig(overrides: Partial<DeliveryStreamConfig>): DeliveryStreamConfig {
  return {
    name: STREAM,
    bucket: 'mappa-data',
    prefix: EVENTS_DELIVERY.prefix,
    fileExtension: EVENTS_DELIVERY.fileExtension,
    bufferingIntervalSeconds: EVENTS_DELIVERY.bufferingIntervalSeconds,
    bufferingSizeMiB: EVENTS_DELIVERY.bufferingSizeMiB,
    ...overrides,
  };
}

function startDouble(
  dataDir: string,
  s3: S3Client,
  stream: Partial<DeliveryStreamConfig> = {},
  quota?: { requestsPerSecond: number; bytesPerSecond: number },
  onDeliveryError?: (stream: string, error: unknown) => void,
): Promise<FirehoseDouble> {
  return FirehoseDouble.start({
    port: 0,
    dataDir,
    streams: [streamConfig(stream)],
    s3: () => s3,
    region: LOCAL_REGION,
    accountId: '000000000000',
    retryIntervalMs: 20,
    ...(quota ? { quota } : {}),
    ...(onDeliveryError ? { onDeliveryError } : {}),
  });
}

function clientOf(double: FirehoseDouble): FirehoseClient {
  return createFirehoseClient({
    endpoint: double.endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
}
