import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { EmbeddedStack } from '../../../shared/local/embedded-stack';
import { API_EVENTS_FOLDER, compactStagedEvents } from '../../../shared/serving/event-compactor';
import { EVENTS_STAGING_PREFIX } from '../../../shared/serving/events';
import { startTestStack } from '../../support/local-stack';

describe('compacting staged API events', () => {
  let stack: EmbeddedStack;
  let stop: () => Promise<void>;
  beforeAll(async () => {
    ({ stack, stop } = await startTestStack());
  });
  afterAll(() => stop());

  const bucket = () => stack.names.dataBucket;
  const stage = async (from: number, count: number) => {
    for (let start = from; start < from + count; start += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, from + count - start) }, (_, offset) => {
          const request = start + offset;
          const body = [0, 1]
            .map((event) =>
              JSON.stringify({
                user_id: `u${request}`,
                item_id: `i${event}`,
                timestamp: 1_764_000_000 + request,
                event_type: 'view',
              }),
            )
            .join('\n');
          return stack.s3.send(
            new PutObjectCommand({
              Bucket: bucket(),
              Key: `${EVENTS_STAGING_PREFIX}2026/12/01/${String(request).padStart(8, '0')}.jsonl`,
              Body: `${body}\n`,
            }),
          );
        }),
      );
    }
  };
  const keys = async (prefix: string) => {
    const found: string[] = [];
    let token: string | undefined;
    do {
      const page = await stack.s3.send(
        new ListObjectsV2Command({ Bucket: bucket(), Prefix: prefix, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) found.push(object.Key as string);
      token = page.NextContinuationToken;
    } while (token);
    return found;
  };
  const eventsIn = async (files: readonly string[]) => {
    const lines: string[] = [];
    for (const key of files) {
      const object = await stack.s3.send(new GetObjectCommand({ Bucket: bucket(), Key: key }));
      lines.push(...((await object.Body?.transformToString()) ?? '').split('\n').filter(Boolean));
    }
    return lines;
  };

  it('pages listings past 1,000 keys (s3rver answered 500 to every truncated listing on Node ≥ 17)', async () => {
    await stage(0, 1_203);
    expect(await keys(EVENTS_STAGING_PREFIX)).toHaveLength(1_203);
  });

  it('drains the staging area in batches, every event once, and loses nothing to a crash between write and delete', async () => {
    const s3 = stack.clientsFor('compact-events').s3;
    // A crash after the first batch's file is written and before its staged objects are deleted.
    let crashes = 1;
    s3.middlewareStack.add(
      (next) => async (args) => {
        if (crashes > 0 && 'Delete' in (args.input as object)) {
          crashes--;
          throw new Error('the function was stopped');
        }
        return next(args);
      },
      { step: 'initialize', name: 'crashBeforeDelete' },
    );
    await expect(compactStagedEvents(s3, bucket(), { maxObjects: 500 })).rejects.toThrow(
      'the function was stopped',
    );
    expect(await keys(EVENTS_STAGING_PREFIX)).toHaveLength(1_203);
    const result = await compactStagedEvents(s3, bucket(), { maxObjects: 500 });
    s3.middlewareStack.remove('crashBeforeDelete');
    expect(result).toMatchObject({ stagedObjects: 1_203, events: 2_406 });
    expect(result.files).toHaveLength(3);
    expect(await keys(EVENTS_STAGING_PREFIX)).toEqual([]);
    // The crashed run's file has the same name as the rerun's first batch: overwritten, not doubled.
    const files = (await keys(API_EVENTS_FOLDER)).filter((key) => key.endsWith('.jsonl'));
    expect(files.sort()).toEqual([...result.files].sort());
    const events = await eventsIn(files);
    expect(events).toHaveLength(2_406);
    expect(new Set(events).size).toBe(2_406);
  });

  it('is a no-op with nothing staged', async () => {
    expect(await compactStagedEvents(stack.clientsFor('compact-events').s3, bucket())).toEqual({
      stagedObjects: 0,
      events: 0,
      files: [],
    });
  });
});
