import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { S3Event } from 'aws-lambda';
import { decodeS3EventKey } from '../../../shared/aws/s3-keys';
import { EmbeddedStack, readDeadLetters } from '../../../shared/local/embedded-stack';
import { incomingPrefix } from '../../../shared/resources/definitions';
import { startTestStack } from '../../support/local-stack';

describe('EmbeddedStack', () => {
  let stack: EmbeddedStack;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    ({ stack, stop } = await startTestStack());
  });
  afterAll(() => stop());

  it('delivers a real S3 event to the drop-folder handler for an object put with the SDK', async () => {
    // Prepare
    const received: S3Event[] = [];
    const unregister = stack.onDropFolder(async (event) => {
      received.push(event);
    });
    const key = `${incomingPrefix('interactions')}2026/11/export (final) #1.csv`;

    // Act
    await stack.s3.send(
      new PutObjectCommand({ Bucket: stack.names.dataBucket, Key: key, Body: 'user_id,item_id,timestamp\n' }),
    );
    await stack.drainEvents();
    unregister();

    // Assess
    expect(received).toHaveLength(1);
    const record = received[0]?.Records[0];
    expect(record?.eventSource).toBe('aws:s3');
    expect(record?.eventName).toBe('ObjectCreated:Put');
    expect(record?.s3.bucket.name).toBe(stack.names.dataBucket);
    expect(record?.s3.object.key).toBe('incoming/interactions/2026/11/export+%28final%29+%231.csv');
    expect(decodeS3EventKey(record?.s3.object.key ?? '')).toBe(key);
    expect(record?.s3.object.size).toBe(26);
    expect(record?.s3.object.eTag).toMatch(/^[0-9a-f]{32}$/);
  });

  it('applies the prefix filter as S3 does: objects outside the drop folder raise nothing', async () => {
    const received: string[] = [];
    const unregister = stack.onDropFolder(async (event) => {
      received.push(event.Records[0]?.s3.object.key ?? '');
    });

    await stack.s3.send(
      new PutObjectCommand({ Bucket: stack.names.dataBucket, Key: 'curated/x.csv', Body: 'a' }),
    );
    await stack.s3.send(
      new PutObjectCommand({ Bucket: stack.names.dataBucket, Key: 'incoming/x.csv', Body: 'a' }),
    );
    await stack.s3.send(
      new PutObjectCommand({ Bucket: stack.names.dataBucket, Key: 'incoming/items/a.csv', Body: 'a' }),
    );
    await stack.drainEvents();
    unregister();

    expect(received).toEqual(['incoming/items/a.csv']);
  });

  it('retries a failing handler like Lambda async invocation, then dead-letters the event', async () => {
    let attempts = 0;
    const unregister = stack.onObjectCreated('incoming/users/', async () => {
      attempts++;
      throw new Error('downstream unavailable');
    });

    await stack.s3.send(
      new PutObjectCommand({ Bucket: stack.names.dataBucket, Key: 'incoming/users/u.csv', Body: 'a' }),
    );
    await stack.drainEvents();
    unregister();

    expect(attempts).toBe(3);
    expect(stack.deadLetters).toHaveLength(1);
    expect(stack.deadLetters[0]?.error).toBe('downstream unavailable');
    expect(stack.deadLetters[0]?.event.Records[0]?.s3.object.key).toBe('incoming/users/u.csv');
    // The local dead-letter queue another process (`mappa ingest`) reads: the key and why it failed.
    expect(readDeadLetters(stack.dataDir)).toEqual([
      expect.objectContaining({ key: 'incoming/users/u.csv', error: 'downstream unavailable', attempts: 3 }),
    ]);
  });

  it('stores a streamed multi-part upload byte for byte', async () => {
    // Prepare: 6 MiB streamed body of unknown length, so the SDK must stream and split it.
    const body = randomBytes(6 * 1024 * 1024);
    const key = 'incoming/interactions/streamed.bin';

    // Act
    await new Upload({
      client: stack.s3,
      params: {
        Bucket: stack.names.dataBucket,
        Key: key,
        Body: Readable.from([body.subarray(0, 3_000_000), body.subarray(3_000_000)]),
      },
      partSize: 5 * 1024 * 1024,
    }).done();
    await stack.s3.send(
      new PutObjectCommand({
        Bucket: stack.names.dataBucket,
        Key: `${key}.single`,
        Body: Readable.from([body]),
        ContentLength: body.length,
      }),
    );
    await stack.drainEvents();

    // Assess
    for (const stored of [key, `${key}.single`]) {
      const object = await stack.s3.send(
        new GetObjectCommand({ Bucket: stack.names.dataBucket, Key: stored }),
      );
      const bytes = Buffer.from(
        await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
      );
      expect(bytes.length).toBe(body.length);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(
        createHash('sha256').update(body).digest('hex'),
      );
    }
  });
});

describe('EmbeddedStack start-up errors', () => {
  it('names the busy port instead of failing with a stack trace', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const dataDir = mkdtempSync(join(tmpdir(), 'mappa-busy-'));
      await expect(
        EmbeddedStack.start({ s3Port: port, dynamoDbPort: 0, inMemoryDynamoDb: true, dataDir }),
      ).rejects.toMatchObject({
        name: 'EmbeddedStackError',
        message: `Local S3 port ${port} on 127.0.0.1 is already in use. Stop the other process (maybe 'mappa local down') or choose another port.`,
      });
    } finally {
      blocker.close();
    }
  });
});
