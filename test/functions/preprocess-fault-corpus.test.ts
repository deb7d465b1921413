import { gzipSync } from 'node:zlib';
import type { IngestionReport } from '../../shared/ingest/ingestion-types';
import { assertBalanced, type IngestionStack, startIngestionStack } from '../support/ingestion';

const T = 1_760_000_000;
const HEADER = 'user_id,item_id,timestamp,event_type,event_value';

/** `count` valid interaction rows, each user and item distinct enough to be counted back. */
function rows(count: number, prefix = 'u'): string[] {
  return Array.from(
    { length: count },
    (_, index) => `${prefix}${index % 97},i${index % 53},${T + index},view,`,
  );
}

/**
 * The inputs an outside tester broke ingestion with: each must end in a report (or a quarantine) with every
 * row accounted for — never a crashed process, a dead letter or silently lost rows.
 */
describe('ingestion fault corpus', () => {
  let env: IngestionStack;
  afterEach(async () => {
    await env.stop();
  });

  describe('truncated gzip', () => {
    // 6,000 rows in chunks of 1,000; the compressed file is cut at several points.
    const text = `${[HEADER, ...rows(6_000)].join('\n')}\n`;
    const compressed = gzipSync(text);

    /** Drops the file cut at `share` of its bytes; fails on an unhandled rejection or a dead letter. */
    async function dropCut(share: number): Promise<IngestionReport> {
      env = await startIngestionStack({ chunkRows: 1_000 });
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      try {
        await env.drop(
          `incoming/interactions/cut-${share}.csv.gz`,
          compressed.subarray(0, Math.floor(compressed.length * share)),
        );
        await new Promise((resolve) => setImmediate(resolve));
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
      expect(unhandled).toEqual([]);
      expect(env.stack.deadLetters).toEqual([]);
      const report = await env.report(`interactions/cut-${share}.csv.gz`);
      assertBalanced(report);
      return report;
    }

    it('cut inside the first chunk: the file is quarantined whole and nothing of it is published', async () => {
      const report = await dropCut(0.05);
      expect(report.status).toBe('quarantined');
      expect(report.quarantine).toMatchObject({ reason: 'truncated_gzip' });
      expect(report.rows_in).toBe(0);
      expect(await env.keys('curated/interactions/')).toEqual([]);
    });

    it.each([0.3, 0.6, 0.95])(
      'cut at %p of the file: the rows before the break are ingested and the report says where reading stopped',
      async (share) => {
        const report = await dropCut(share);
        expect(report.status).toBe('partial');
        expect(report.unreadable).toMatchObject({ reason: 'truncated_gzip' });
        expect(report.accepted).toBeGreaterThanOrEqual(1_000);
        expect(report.accepted % 1_000).toBe(0);
        expect(await env.curatedRows('curated/interactions/')).toHaveLength(report.accepted);
        // Lines 1 (header) to rows_in + 1 were read: nothing from the next line on.
        expect(report.unreadable?.after_line).toBe(report.rows_in + 2);
        expect(await env.keys(report.unreadable?.object as string)).toEqual([report.unreadable?.object]);
      },
    );

    it('quarantines gzip data that is corrupt from the start instead of retrying it', async () => {
      env = await startIngestionStack();
      const corrupt = Buffer.from(compressed);
      corrupt.fill(0x41, 20, 200); // the deflate stream's start overwritten
      await env.drop('incoming/interactions/corrupt.csv.gz', corrupt);
      expect(env.stack.deadLetters).toEqual([]);
      const report = await env.report('interactions/corrupt.csv.gz');
      expect(report.status).toBe('quarantined');
      expect(['corrupt_gzip', 'truncated_gzip']).toContain(report.quarantine?.reason);
    });
  });

  it('rejects over-long ids, event types and attributes row by row and ingests the rest', async () => {
    env = await startIngestionStack();
    const good = rows(20, 'g');
    await env.drop(
      'incoming/interactions/long-ids.csv',
      [
        HEADER,
        ...good.slice(0, 10),
        `${'a'.repeat(2_049)},i1,${T},view,`,
        `u1,${'b'.repeat(1024 * 1024 - 100)},${T},view,`,
        `u1,i1,${T},${'v'.repeat(65)},`,
        `u1,i1\u0001x,${T},view,`,
        ...good.slice(10),
      ].join('\n'),
    );
    const report = await env.report('interactions/long-ids.csv');
    assertBalanced(report);
    expect(env.stack.deadLetters).toEqual([]);
    expect(report).toMatchObject({ status: 'completed', rows_in: 24, accepted: 20, rejected: 4 });
    expect(report.rejected_by_reason).toEqual({ id_too_long: 2, invalid_event_type: 1, invalid_id: 1 });

    await env.drop(
      'incoming/items/big-attributes.csv',
      ['item_id,title,description', 'i1,One,short', `i2,Two,${'d'.repeat(70 * 1024)}`, 'i3,Three,short'].join(
        '\n',
      ),
    );
    const items = await env.report('items/big-attributes.csv');
    assertBalanced(items);
    expect(items).toMatchObject({ status: 'completed', accepted: 2, rejected: 1 });
    expect(items.rejected_by_reason).toEqual({ value_too_large: 1 });
    const quarantined = JSON.parse(
      (await env.readText('rejected/items/big-attributes.csv.jsonl')).trim(),
    ) as {
      message: string;
    };
    expect(quarantined.message).toMatch(/the largest is 'description'/);
  });

  it('rejects a row with a NUL byte or invalid UTF-8 far past the first 64 KiB, keeping the others', async () => {
    env = await startIngestionStack();
    const before = rows(3_000); // ~100 KB
    const file = Buffer.concat([
      Buffer.from(`${[HEADER, ...before].join('\n')}\n`),
      Buffer.from(`nul\u0000user,i1,${T},view,\n`),
      Buffer.concat([Buffer.from('lat'), Buffer.from([0xe9]), Buffer.from(`n,i1,${T},view,\n`)]),
      Buffer.from(`${rows(5, 'after').join('\n')}\n`),
    ]);
    expect(file.indexOf(0)).toBeGreaterThan(64 * 1024);
    await env.drop('incoming/interactions/late-bytes.csv', file);
    const report = await env.report('interactions/late-bytes.csv');
    assertBalanced(report);
    expect(report).toMatchObject({ status: 'completed', accepted: 3_005, rejected: 2 });
    expect(report.rejected_by_reason).toEqual({ invalid_encoding: 2 });
  });

  it('quarantines a file whose header names a column twice (which one holds the value is ambiguous)', async () => {
    env = await startIngestionStack();
    await env.drop(
      'incoming/interactions/twice.csv',
      ['user_id,item_id,timestamp,item_id', `u1,i1,${T},i2`].join('\n'),
    );
    const report = await env.report('interactions/twice.csv');
    expect(report.status).toBe('quarantined');
    expect(report.quarantine).toMatchObject({ reason: 'duplicate_columns' });
    expect(report.quarantine?.message).toMatch(
      /column 'item_id' appears twice in the header \(columns 2 and 4/,
    );
  });

  it('keeps the valid rows after a quote that never closes, megabytes of them', async () => {
    env = await startIngestionStack();
    const after = rows(60_000); // ~2 MB after the broken row
    await env.drop(
      'incoming/interactions/open-quote.csv',
      [HEADER, `u0,"broken,${T},view,`, ...after].join('\n'),
    );
    const report = await env.report('interactions/open-quote.csv');
    assertBalanced(report);
    expect(report).toMatchObject({ status: 'completed', rows_in: 60_001, rejected: 1 });
    expect(report.accepted + report.duplicates).toBe(60_000);
    expect(report.rejected_by_reason).toEqual({ unterminated_quote: 1 });
  });
});
