import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { expandDeliveryPrefix } from '../resources/definitions';

/**
 * A local Kinesis Data Firehose (Direct PUT → S3) that the real `@aws-sdk/client-firehose` talks to over
 * its JSON protocol. What the code relies on is what it reproduces: a record is durable once `PutRecord`
 * answers (journaled to disk before the answer; a restarted double delivers what a stopped or killed one
 * had accepted); records are concatenated into one S3 object per buffer, written when the buffer reaches
 * its size or age hint, named as Firehose names them (prefix expressions, stream, time, random suffix,
 * file extension) under the delivery role's own S3 client; a failed write is retried every 5 s with
 * nothing lost; delivery is at least once (a crash between the write and the journal's removal delivers
 * the buffer again). It refuses what Firehose refuses: unknown streams, records over 1,000 KiB, batches
 * over 500 records or 4 MiB, and more than the stream's throughput quota (ServiceUnavailableException).
 */

export interface DeliveryStreamConfig {
  readonly name: string;
  readonly bucket: string;
  /** With Firehose's `!{timestamp:…}` expressions (no processing step here, so no error output prefix). */
  readonly prefix: string;
  readonly fileExtension: string;
  readonly bufferingIntervalSeconds: number;
  readonly bufferingSizeMiB: number;
}

export interface FirehoseDoubleOptions {
  /** 0 picks a free port. */
  readonly port: number;
  /** Where accepted, undelivered records are journaled (one folder per stream). */
  readonly dataDir: string;
  readonly streams: readonly DeliveryStreamConfig[];
  /** The delivery role's S3 client (asked for at delivery): the double writes under that role's IAM policies. */
  readonly s3: () => S3Client;
  readonly region: string;
  readonly accountId: string;
  /** Firehose retries a failed S3 write every 5 s (for up to 24 h). */
  readonly retryIntervalMs?: number;
  /** Direct PUT quotas of us-east-1 (other regions: 1,000 requests/s and 1 MiB/s). */
  readonly quota?: { readonly requestsPerSecond: number; readonly bytesPerSecond: number };
  readonly onDeliveryError?: (stream: string, error: unknown) => void;
}

/** Firehose's per-record, per-batch and per-stream limits (Amazon Data Firehose quotas). */
export const FIREHOSE_LIMITS = {
  recordBytes: 1_024_000,
  batchRecords: 500,
  batchBytes: 4 * 1024 * 1024,
  requestsPerSecond: 2_000,
  bytesPerSecond: 5 * 1024 * 1024,
} as const;

class FirehoseError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** One buffer: the records accepted since the last one was sealed, journaled in its own file. */
interface Segment {
  readonly file: string;
  readonly records: Buffer[];
  bytes: number;
  /** When its first record arrived: the buffer's age and the delivered key's time. */
  readonly openedAt: Date;
}

/** A one-second window counter per stream, as Firehose meters its throughput quota. */
class QuotaWindow {
  private second = 0;
  private requests = 0;
  private bytes = 0;

  constructor(private readonly quota: { requestsPerSecond: number; bytesPerSecond: number }) {}

  admit(bytes: number, nowMs: number): boolean {
    const second = Math.floor(nowMs / 1000);
    if (second !== this.second) {
      this.second = second;
      this.requests = 0;
      this.bytes = 0;
    }
    if (this.requests + 1 > this.quota.requestsPerSecond || this.bytes + bytes > this.quota.bytesPerSecond) {
      return false;
    }
    this.requests += 1;
    this.bytes += bytes;
    return true;
  }
}

class StreamBuffer {
  private open: Segment | undefined;
  private readonly sealed: Segment[] = [];
  private delivering: Promise<void> | undefined;
  private nextSequence: number;
  private retryAt = 0;
  readonly quota: QuotaWindow;
  acceptedRecords = 0;
  deliveredObjects: string[] = [];

  constructor(
    readonly config: DeliveryStreamConfig,
    private readonly dir: string,
    private readonly options: FirehoseDoubleOptions,
  ) {
    mkdirSync(dir, { recursive: true });
    this.quota = new QuotaWindow(
      options.quota ?? {
        requestsPerSecond: FIREHOSE_LIMITS.requestsPerSecond,
        bytesPerSecond: FIREHOSE_LIMITS.bytesPerSecond,
      },
    );
    // What an earlier process accepted and did not deliver: sealed now, delivered on the next tick.
    const journals = readdirSync(dir)
      .filter((name) => /^buffer-\d+\.log$/.test(name))
      .sort((a, b) => sequenceOf(a) - sequenceOf(b));
    for (const name of journals) {
      const file = join(dir, name);
      const records = readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => Buffer.from(line, 'base64'));
      if (records.length === 0) rmSync(file, { force: true });
      else {
        const bytes = records.reduce((sum, record) => sum + record.length, 0);
        this.sealed.push({ file, records, bytes, openedAt: statSync(file).mtime });
      }
    }
    this.nextSequence = journals.length > 0 ? sequenceOf(journals[journals.length - 1] as string) + 1 : 0;
  }

  /** Journals the records, then buffers them; the caller answers only after this returns. */
  accept(records: readonly Buffer[], now: Date): void {
    if (!this.open) {
      const file = join(this.dir, `buffer-${String(this.nextSequence++).padStart(12, '0')}.log`);
      this.open = { file, records: [], bytes: 0, openedAt: now };
    }
    appendFileSync(this.open.file, records.map((record) => `${record.toString('base64')}\n`).join(''));
    for (const record of records) {
      this.open.records.push(record);
      this.open.bytes += record.length;
    }
    this.acceptedRecords += records.length;
    if (this.open.bytes >= this.config.bufferingSizeMiB * 1024 * 1024) this.seal();
  }

  /** Seals the open buffer when its age hint is reached (or always, `force`), then delivers in order. */
  tick(now: Date, force = false): Promise<void> {
    if (
      this.open &&
      (force || now.getTime() - this.open.openedAt.getTime() >= this.config.bufferingIntervalSeconds * 1000)
    ) {
      this.seal();
    }
    if (force) this.retryAt = 0;
    if (!this.delivering && this.sealed.length > 0 && now.getTime() >= this.retryAt) {
      this.delivering = this.deliverSealed().finally(() => {
        this.delivering = undefined;
      });
    }
    return this.delivering ?? Promise.resolve();
  }

  /** Waits for a delivery in flight, starting none. */
  settle(): Promise<void> {
    return this.delivering ?? Promise.resolve();
  }

  /** Records accepted and not yet written to S3. */
  get pendingRecords(): number {
    return (
      (this.open?.records.length ?? 0) + this.sealed.reduce((sum, segment) => sum + segment.records.length, 0)
    );
  }

  private seal(): void {
    if (this.open) this.sealed.push(this.open);
    this.open = undefined;
  }

  private async deliverSealed(): Promise<void> {
    while (this.sealed.length > 0) {
      const segment = this.sealed[0] as Segment;
      const key = `${expandDeliveryPrefix(this.config.prefix, segment.openedAt)}${objectName(this.config, segment.openedAt)}`;
      try {
        await this.options.s3().send(
          new PutObjectCommand({
            Bucket: this.config.bucket,
            Key: key,
            Body: Buffer.concat(segment.records),
          }),
        );
      } catch (error) {
        // Kept, in order, and tried again: Firehose retries S3 delivery for up to 24 hours.
        this.retryAt = Date.now() + (this.options.retryIntervalMs ?? 5_000);
        this.options.onDeliveryError?.(this.config.name, error);
        return;
      }
      // Removed only after the write: a crash in between delivers the buffer again (at least once).
      rmSync(segment.file, { force: true });
      this.sealed.shift();
      this.deliveredObjects.push(key);
    }
  }
}

function sequenceOf(name: string): number {
  return Number(/(\d+)/.exec(name)?.[1] ?? 0);
}

/** `<stream>-<version>-<yyyy>-<MM>-<dd>-<HH>-<mm>-<ss>-<random>` plus the extension, as Firehose names objects. */
function objectName(config: DeliveryStreamConfig, at: Date): string {
  const stamp = at.toISOString().slice(0, 19).replace(/[T:]/g, '-');
  return `${config.name}-1-${stamp}-${randomUUID()}${config.fileExtension}`;
}

interface PutRecordInput {
  readonly DeliveryStreamName?: unknown;
  readonly Record?: { readonly Data?: unknown };
  readonly Records?: readonly { readonly Data?: unknown }[];
}

export class FirehoseDouble {
  private readonly buffers = new Map<string, StreamBuffer>();
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
    private readonly options: FirehoseDoubleOptions,
  ) {
    for (const stream of options.streams) {
      this.buffers.set(stream.name, new StreamBuffer(stream, join(options.dataDir, stream.name), options));
    }
    // Age checks a few times per interval (Firehose's own granularity is about a second).
    const shortest = Math.min(...options.streams.map((stream) => stream.bufferingIntervalSeconds));
    this.timer = setInterval(() => this.tickAll(false), Math.max(100, Math.min(1_000, shortest * 250)));
    this.timer.unref();
  }

  static async start(options: FirehoseDoubleOptions): Promise<FirehoseDouble> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const double = new FirehoseDouble(
      server,
      `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      options,
    );
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      void double.handle(request, response);
    });
    return double;
  }

  /**
   * Seals every buffer now and waits until everything accepted is in S3 — what waiting out the buffer
   * interval does, without the wait (tests, and `mappa` commands that need the events in the drop folder).
   */
  async flush(): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      await this.tickAll(true);
      if (this.pendingRecords() === 0) return;
    }
    throw new Error(`firehose double: ${this.pendingRecords()} record(s) could not be delivered to S3`);
  }

  pendingRecords(): number {
    return [...this.buffers.values()].reduce((sum, buffer) => sum + buffer.pendingRecords, 0);
  }

  /** Per stream: records accepted and S3 objects written by this process. */
  stats(): Record<string, { acceptedRecords: number; deliveredObjects: readonly string[] }> {
    return Object.fromEntries(
      [...this.buffers].map(([name, buffer]) => [
        name,
        { acceptedRecords: buffer.acceptedRecords, deliveredObjects: [...buffer.deliveredObjects] },
      ]),
    );
  }

  /**
   * Stops answering. Buffers are not flushed: they stay journaled, and the next double started on the
   * same directory delivers them — as Firehose keeps accepted data when nobody is watching.
   */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all([...this.buffers.values()].map((buffer) => buffer.settle()));
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async tickAll(force: boolean): Promise<void> {
    const now = new Date();
    await Promise.all([...this.buffers.values()].map((buffer) => buffer.tick(now, force)));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    try {
      const target = String(request.headers['x-amz-target'] ?? '');
      const operation = /^Firehose_20150804\.(\w+)$/.exec(target)?.[1];
      if (request.method !== 'POST' || !operation) {
        throw new FirehoseError('UnknownOperationException', `unknown operation '${target}'`);
      }
      const input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as PutRecordInput;
      reply(response, 200, this.operate(operation, input));
    } catch (error) {
      if (error instanceof FirehoseError) {
        reply(response, error.status, { __type: error.type, message: error.message });
      } else if (error instanceof SyntaxError) {
        reply(response, 400, { __type: 'SerializationException', message: error.message });
      } else {
        reply(response, 500, { __type: 'InternalFailure', message: String(error) });
      }
    }
  }

  private operate(operation: string, input: PutRecordInput): Record<string, unknown> {
    const buffer = this.streamOf(input.DeliveryStreamName);
    if (operation === 'DescribeDeliveryStream') {
      return {
        DeliveryStreamDescription: {
          DeliveryStreamName: buffer.config.name,
          DeliveryStreamARN: `arn:aws:firehose:${this.options.region}:${this.options.accountId}:deliverystream/${buffer.config.name}`,
          DeliveryStreamStatus: 'ACTIVE',
          DeliveryStreamType: 'DirectPut',
          VersionId: '1',
          Destinations: [],
          HasMoreDestinations: false,
        },
      };
    }
    if (operation !== 'PutRecord' && operation !== 'PutRecordBatch') {
      throw new FirehoseError(
        'UnknownOperationException',
        `the local double does not implement ${operation}`,
      );
    }
    const raw = operation === 'PutRecord' ? [input.Record] : (input.Records ?? []);
    if (operation === 'PutRecordBatch' && (raw.length < 1 || raw.length > FIREHOSE_LIMITS.batchRecords)) {
      throw new FirehoseError(
        'InvalidArgumentException',
        `Records has ${raw.length} records; PutRecordBatch takes 1 to ${FIREHOSE_LIMITS.batchRecords}`,
      );
    }
    const records = raw.map((record, index) => {
      if (typeof record?.Data !== 'string') {
        throw new FirehoseError(
          'InvalidArgumentException',
          `Record${raw.length > 1 ? `s[${index}]` : ''}.Data is required`,
        );
      }
      const data = Buffer.from(record.Data, 'base64');
      if (data.length > FIREHOSE_LIMITS.recordBytes) {
        throw new FirehoseError(
          'InvalidArgumentException',
          `a record is ${data.length} bytes; the limit is ${FIREHOSE_LIMITS.recordBytes} (1,000 KiB) before base64 encoding`,
        );
      }
      return data;
    });
    const bytes = records.reduce((sum, record) => sum + record.length, 0);
    if (bytes > FIREHOSE_LIMITS.batchBytes) {
      throw new FirehoseError(
        'InvalidArgumentException',
        `the request holds ${bytes} bytes; the limit is 4 MiB`,
      );
    }
    if (!buffer.quota.admit(bytes, Date.now())) {
      throw new FirehoseError('ServiceUnavailableException', 'Slow down.', 503);
    }
    const now = new Date();
    buffer.accept(records, now);
    void buffer.tick(now); // a buffer that reached its size hint goes out at once
    const ids = records.map(() => randomUUID().replace(/-/g, ''));
    return operation === 'PutRecord'
      ? { RecordId: ids[0], Encrypted: true }
      : { FailedPutCount: 0, Encrypted: true, RequestResponses: ids.map((RecordId) => ({ RecordId })) };
  }

  private streamOf(name: unknown): StreamBuffer {
    const buffer = typeof name === 'string' ? this.buffers.get(name) : undefined;
    if (!buffer) {
      throw new FirehoseError(
        'ResourceNotFoundException',
        `Firehose ${String(name)} under account ${this.options.accountId} not found.`,
      );
    }
    return buffer;
  }
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
  });
  response.end(text);
}
