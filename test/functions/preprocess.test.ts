import { gzipSync } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { handleDropFolderRecord } from '../../shared/ingest/drop-folder';
import { ingestObject } from '../../shared/ingest/ingest-object';
import { recentPopularity, topCategories } from '../../shared/feature-store/features';
import { readColumnStat, statKey } from '../../shared/feature-store/feature-store';
import { assertBalanced, type IngestionStack, startIngestionStack } from '../support/ingestion';

const T = 1_760_000_000; // 2025-10-09, well inside the plausible window

describe('preprocess Lambda on the embedded stack', () => {
  let env: IngestionStack;
  beforeAll(async () => {
    env = await startIngestionStack();
  });
  afterAll(() => env.stop());

  it('ingests a canonical CSV and maintains exact user, item and dataset features', async () => {
    // Prepare: item attributes first, so user category counts can use them.
    await env.drop('incoming/items/catalog.csv', 'item_id,category,price\nb1,books,10\ne1,electronics,200\n');
    const csv = [
      'user_id,item_id,timestamp,event_type,event_value',
      `alice,b1,${T},view,`,
      `alice,b1,${T + 60},purchase,10`,
      `alice,e1,${T + 120},purchase,200`,
      `bob,b1,${T + 30},view,`,
    ].join('\n');

    // Act
    await env.drop('incoming/interactions/day1.csv', csv);

    // Assess
    const report = await env.report('interactions/day1.csv');
    assertBalanced(report);
    expect(report).toMatchObject({
      status: 'completed',
      rows_in: 4,
      accepted: 4,
      duplicates: 0,
      rejected: 0,
      chunks: 1,
    });
    const alice = await env.featureStore.users.get('alice');
    expect(alice).toMatchObject({
      event_count: 3,
      event_counts: { view: 1, purchase: 2 },
      purchase_count: 2,
      revenue: 210,
      first_seen: T,
      last_seen: T + 120,
      category_counts: { books: 2, electronics: 1 },
    });
    expect(alice?.recent.map((event) => event.item_id)).toEqual(['b1', 'b1', 'e1']);
    expect(topCategories(alice ?? ({} as never))).toEqual(['books', 'electronics']);
    const book = await env.featureStore.items.get('b1');
    expect(book).toMatchObject({
      event_count: 3,
      event_counts: { view: 2, purchase: 1 },
      attributes: { category: 'books', price: 10 },
    });
    expect(recentPopularity(book ?? ({} as never), T + 120, 7)).toBe(3);
    const value = await readColumnStat(env.featureStore, statKey('interactions', 'numeric', 'event_value'));
    expect(value).toMatchObject({ kind: 'numeric', count: 2, mean: 105, min: 10, max: 200 });
    const curated = await env.curatedRows('curated/interactions/day1.csv/');
    expect(curated).toHaveLength(4);
    expect(curated[1]).toEqual({
      user_id: 'alice',
      item_id: 'b1',
      timestamp: T + 60,
      event_type: 'purchase',
      event_value: 10,
    });
  });

  it('reads a header-less TSV through a mapping (MovieLens u.data style)', async () => {
    await env.drop(
      'incoming/interactions/ml/_mapping.json',
      JSON.stringify({
        delimiter: '\t',
        header: ['user_id', 'item_id', 'event_value', 'timestamp'],
        constants: { event_type: 'rating' },
      }),
    );
    await env.drop('incoming/interactions/ml/u.data', `196\t242\t3\t${T}\n186\t302\t3\t${T + 1}\n`);

    const report = await env.report('interactions/ml/u.data');
    assertBalanced(report);
    expect(report).toMatchObject({ accepted: 2, rejected: 0, unknown_event_types: { rating: 2 } });
    expect(await env.featureStore.users.get('196')).toMatchObject({
      event_counts: { rating: 1 },
      last_seen: T,
    });
  });

  it('ingests JSON Lines with renamed columns and ISO timestamps, gzip-compressed', async () => {
    await env.drop(
      'incoming/interactions/shop/_mapping.json',
      JSON.stringify({
        columns: { customerId: 'user_id', sku: 'item_id', at: 'timestamp', type: 'event_type' },
      }),
    );
    const lines = [
      JSON.stringify({ customerId: 'carol', sku: 'b1', at: '2025-10-09T08:00:00Z', type: 'VIEW' }),
      JSON.stringify({
        customerId: 'carol',
        sku: 'e1',
        at: '2025-10-09T08:05:00Z',
        type: 'purchase',
        event_value: 200,
      }),
    ];
    await env.drop('incoming/interactions/shop/events.jsonl.gz', gzipSync(`${lines.join('\n')}\n`));

    const report = await env.report('interactions/shop/events.jsonl.gz');
    assertBalanced(report);
    expect(report).toMatchObject({ accepted: 2, rejected: 0 });
    expect(await env.featureStore.users.get('carol')).toMatchObject({
      event_counts: { view: 1, purchase: 1 },
      revenue: 200,
      first_seen: Date.parse('2025-10-09T08:00:00Z') / 1000,
    });
  });

  it('quarantines every bad-row class with its reason and keeps the good rows', async () => {
    const csv = [
      'user_id;item_id;timestamp;event_type;event_value', // semicolons, detected
      `dave;b1;${T};view;`, // good
      `dave;b1;${T};view;`, // exact duplicate in file
      `dave;b1;${T};view`, // field_count_mismatch
      ` ;b1;${T};view;`, // empty_id
      `dave;b1;yesterday;view;`, // invalid_timestamp
      `dave;b1;4102444800;view;`, // timestamp_in_future (2100)
      `dave;b1;600000000;view;`, // timestamp_too_old (1989)
      `dave;b1;${T};purchase;ten`, // invalid_number
      `dave;b1;${T};purchase;-5`, // out_of_bounds
      `dave;e1;${T + 5};wishlist;`, // unknown event type: accepted, counted
      `dave;"b1;${T};view;`, // unterminated_quote (runs to end of file)
    ].join('\r\n');

    await env.drop('incoming/interactions/bad.csv', `\uFEFF${csv}`);

    const report = await env.report('interactions/bad.csv');
    assertBalanced(report);
    expect(report).toMatchObject({
      rows_in: 11,
      accepted: 2,
      duplicates: 1,
      rejected: 8,
      rejected_by_reason: {
        field_count_mismatch: 1,
        empty_id: 1,
        invalid_timestamp: 1,
        timestamp_in_future: 1,
        timestamp_too_old: 1,
        invalid_number: 1,
        out_of_bounds: 1,
        unterminated_quote: 1,
      },
      unknown_event_types: { wishlist: 1 },
    });
    const quarantined = (await env.readText('rejected/interactions/bad.csv.jsonl'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(quarantined).toHaveLength(8);
    expect(quarantined[0]).toEqual({
      source_key: 'incoming/interactions/bad.csv',
      line: 4,
      reason: 'field_count_mismatch',
      message: 'expected 5 fields, found 4',
      raw: `dave;b1;${T};view`,
    });
    expect(quarantined.map((row) => row.reason)).toContain('out_of_bounds');
  });

  it('quarantines JSON and encoding problems per row', async () => {
    const good = `{"user_id":"erin","item_id":"b1","timestamp":${T}}\n`;
    const filler = good.repeat(Math.ceil(70_000 / good.length)); // past the 64 KiB sniffed at the start
    const body = Buffer.concat([
      Buffer.from(filler),
      Buffer.from('{"user_id":"erin","item_id":\n'),
      Buffer.from('["not","an","object"]\n'),
      Buffer.from(`{"item_id":"b1","timestamp":${T + 1}}\n`),
      Buffer.from('{"user_id":"erin","item_id":"b\xff"'.replace('\xff', ''), 'latin1'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from(`","timestamp":${T + 2}}\n`),
    ]);

    await env.drop('incoming/interactions/mixed.jsonl', body);

    const report = await env.report('interactions/mixed.jsonl');
    assertBalanced(report);
    expect(report.rejected_by_reason).toEqual({
      malformed_json: 2,
      missing_required_field: 1,
      invalid_encoding: 1,
    });
    expect(report.accepted).toBe(1);
    expect(report.duplicates).toBe(report.rows_in - 5);
  });

  it('quarantines a wholly unreadable file as one unit and publishes nothing of it', async () => {
    await env.drop(
      'incoming/users/photo.csv',
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d]),
    );
    await env.drop('incoming/interactions/wrong-columns.csv', 'customer,product\nx,y\n');

    const binary = await env.report('users/photo.csv');
    expect(binary).toMatchObject({
      status: 'quarantined',
      rows_in: 0,
      quarantine: { reason: 'binary_content', object: 'rejected/users/files/photo.csv' },
    });
    const columns = await env.report('interactions/wrong-columns.csv');
    expect(columns.quarantine?.reason).toBe('missing_required_columns');
    expect(columns.quarantine?.message).toContain('required column(s) user_id, item_id, timestamp missing');
    expect(await env.keys('curated/interactions/wrong-columns.csv/')).toEqual([]);
    expect(await env.keys('curated/users/photo.csv/')).toEqual([]);
    expect(await env.keys('incoming/users/photo.csv')).toEqual([]);
    expect(await env.keys('rejected/users/files/')).toEqual(['rejected/users/files/photo.csv']);
  });

  it('rejects negative prices in the items dataset', async () => {
    await env.drop('incoming/items/prices.csv', 'item_id,category,price\np1,toys,-3\np2,toys,4.5\n');
    const report = await env.report('items/prices.csv');
    assertBalanced(report);
    expect(report).toMatchObject({ accepted: 1, rejected: 1, rejected_by_reason: { out_of_bounds: 1 } });
    expect(await env.featureStore.items.get('p1')).toBeUndefined();
  });
});

describe('idempotency and concurrency', () => {
  let env: IngestionStack;
  beforeEach(async () => {
    env = await startIngestionStack();
  });
  afterEach(() => env.stop());

  const events = (user: string, from: number, count: number) =>
    Array.from({ length: count }, (_, index) => `${user},i${(from + index) % 3},${from + index},view,`);

  it('gives the same aggregates when the same event is delivered twice', async () => {
    const body = ['user_id,item_id,timestamp,event_type,event_value', ...events('frank', T, 5)].join('\n');
    await env.drop('incoming/interactions/once.csv', body);
    const before = await env.featureStore.users.get('frank');
    const key = 'incoming/interactions/once.csv';

    // Act: re-deliver the identical notification, as S3/Lambda at-least-once delivery may.
    const outcome = await handleDropFolderRecord(env.deps, {
      s3: { object: { key, eTag: await env.etagOf(key) } },
    } as never);

    expect(outcome.status).toBe('completed');
    const after = await env.featureStore.users.get('frank');
    expect(after).toEqual(before);
    expect(after?.event_count).toBe(5);
    assertBalanced(await env.report('interactions/once.csv'));
  });

  it('counts rows repeated from an earlier file as duplicates and does not re-apply them', async () => {
    const header = 'user_id,item_id,timestamp,event_type,event_value';
    await env.drop('incoming/interactions/a.csv', [header, ...events('gina', T, 4)].join('\n'));
    await env.drop('incoming/interactions/b.csv', [header, ...events('gina', T + 2, 4)].join('\n')); // 2 overlap

    const second = await env.report('interactions/b.csv');
    assertBalanced(second);
    expect(second).toMatchObject({ rows_in: 4, accepted: 2, duplicates: 2 });
    expect((await env.featureStore.users.get('gina'))?.event_count).toBe(6);
    expect(await env.curatedRows('curated/interactions/b.csv/')).toHaveLength(2);
  });

  it('replaces the curated output of an older version of the same key with the newer version’s', async () => {
    const header = 'user_id,item_id,timestamp,event_type,event_value';
    await env.drop('incoming/interactions/daily.csv', [header, ...events('hugo', T, 3)].join('\n'));
    const first = await env.keys('curated/interactions/daily.csv/');
    await env.drop('incoming/interactions/daily.csv', [header, ...events('hugo', T + 100, 5)].join('\n'));

    const parts = await env.keys('curated/interactions/daily.csv/');
    expect(parts.some((key) => first.includes(key))).toBe(false);
    expect(await env.curatedRows('curated/interactions/daily.csv/')).toHaveLength(5);
  });

  it('applies two concurrent files for one user exactly once each', async () => {
    const header = 'user_id,item_id,timestamp,event_type,event_value';
    const files = ['x', 'y', 'z'].map((name, index) => ({ name, rows: events('hank', T + index * 100, 10) }));
    await Promise.all(
      files.map(({ name, rows }) =>
        env.stack.s3.send(
          new PutObjectCommand({
            Bucket: env.bucket,
            Key: `incoming/interactions/${name}.csv`,
            Body: [header, ...rows].join('\n'),
          }),
        ),
      ),
    );
    await env.stack.drainEvents();

    const hank = await env.featureStore.users.get('hank');
    expect(hank).toMatchObject({ event_count: 30, first_seen: T, last_seen: T + 209 });
    const itemZeroRows = files.flatMap(({ rows }) => rows).filter((row) => row.split(',')[1] === 'i0').length;
    expect((await env.featureStore.items.get('i0'))?.event_count).toBe(itemZeroRows);
    for (const name of ['x', 'y', 'z']) assertBalanced(await env.report(`interactions/${name}.csv`));
  });
});

describe('large files', () => {
  it('continues a file across invocations in chunks and ends with the same result', async () => {
    // Prepare: 3 rows per chunk and one chunk per invocation, so 10 rows need 4 invocations.
    const env = await startIngestionStack({ chunkRows: 3, maxChunksPerInvocation: 1 });
    try {
      const rows = Array.from({ length: 10 }, (_, index) => `ivan,i${index % 4},${T + index},view,`);
      rows[4] = `ivan,i0,bad,view,`;
      rows[7] = rows[6] as string; // duplicate across a chunk boundary

      await env.drop(
        'incoming/interactions/big.csv.gz',
        gzipSync(['user_id,item_id,timestamp,event_type,event_value', ...rows].join('\n')),
      );

      const report = await env.report('interactions/big.csv.gz');
      assertBalanced(report);
      expect(report).toMatchObject({
        status: 'completed',
        chunks: 4,
        rows_in: 10,
        accepted: 8,
        duplicates: 1,
        rejected: 1,
      });
      expect((await env.featureStore.users.get('ivan'))?.event_count).toBe(8);
      expect(await env.curatedRows('curated/interactions/big.csv.gz/')).toHaveLength(8);
      expect(await env.keys('incoming/interactions/_continuations/')).toEqual([]);
      const rejected = JSON.parse((await env.readText('rejected/interactions/big.csv.gz.jsonl')).trim());
      expect(rejected).toMatchObject({ line: 6, reason: 'invalid_timestamp' });
      // Every read of the data file, in every invocation of the chain, names the version the event named.
      expect(
        env.stack.account.recorder?.actionsOn(
          'preprocess',
          `arn:aws:s3:::${env.bucket}/incoming/interactions/big.csv.gz`,
        ),
      ).toEqual(['s3:GetObjectVersion']);
    } finally {
      await env.stop();
    }
  });

  it('re-reads from the ledger when another delivery recorded chunks while this one was publishing', async () => {
    // Prepare: 2 rows per chunk (15 rows, 8 chunks) and no automatic deliveries: the test runs them.
    const env = await startIngestionStack({ chunkRows: 2 });
    try {
      env.unregister();
      const rows = Array.from(
        { length: 15 },
        (_, index) => `jane${index % 3},i${index % 5},${T + index},view,`,
      );
      const key = 'incoming/interactions/raced.csv';
      await env.stack.s3.send(
        new PutObjectCommand({
          Bucket: env.bucket,
          Key: key,
          Body: ['user_id,item_id,timestamp,event_type,event_value', ...rows].join('\n'),
        }),
      );
      const source = {
        key,
        etag: await env.etagOf(key),
        dataset: 'interactions' as const,
        relativeKey: 'raced.csv',
      };
      // Delivery A stops just before recording its first chunk (its 2nd ledger write) until released.
      let reached!: () => void;
      let release!: () => void;
      const atGate = new Promise<void>((resolve) => (reached = resolve));
      const gate = new Promise<void>((resolve) => (release = resolve));
      const ledger = Object.create(env.deps.ledger) as typeof env.deps.ledger;
      let writes = 0;
      ledger.updateEach = async (...args) => {
        if (++writes === 2) {
          reached();
          await gate;
        }
        return env.deps.ledger.updateEach(...args);
      };

      // Act: A starts; delivery B records chunks 0-2 meanwhile and hands over; then A goes on.
      const first = ingestObject({ ...env.deps, ledger }, source);
      await atGate;
      const second = await ingestObject({ ...env.deps, maxChunksPerInvocation: 3 }, source);
      release();
      const outcome = await first;

      // Assert: A continued from chunk 3 of the ledger, not from where its own stream was.
      expect(second).toMatchObject({ status: 'continued', nextChunk: 3 });
      expect(outcome).toMatchObject({ status: 'completed' });
      const report = await env.report('interactions/raced.csv');
      assertBalanced(report);
      expect(report).toMatchObject({
        status: 'completed',
        chunks: 8,
        rows_in: 15,
        accepted: 15,
        duplicates: 0,
      });
      const curated = await env.curatedRows('curated/interactions/raced.csv/');
      expect(curated.map((row) => row.timestamp)).toEqual(rows.map((_, index) => T + index));
      for (const user of ['jane0', 'jane1', 'jane2'])
        expect((await env.featureStore.users.get(user))?.event_count).toBe(5);
    } finally {
      await env.stop();
    }
  });
});
