import { Readable } from 'node:stream';
import { ChunkReader } from '../../../shared/ingest/chunk-reader';
import { DEFAULT_MAPPING } from '../../../shared/ingest/mapping';
import { CsvSplitter } from '../../../shared/ingest/records';
import { RowValidator } from '../../../shared/ingest/validate';

const NOW = 1_767_225_600;
const HEADER = ['user_id', 'item_id', 'timestamp', 'event_type'];

function csvRows(count: number): string {
  return Array.from(
    { length: count },
    (_, index) => `u${index},i${index},${1_700_000_000 + index},view\n`,
  ).join('');
}

/** A stream of `text` in pieces of `size` bytes, so records straddle pieces. */
function pieces(text: string, size: number): Readable {
  const bytes = Buffer.from(text);
  const parts: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += size)
    parts.push(bytes.subarray(offset, offset + size));
  return Readable.from(parts);
}

function readerOver(stream: AsyncIterable<Buffer>, limit: number): ChunkReader {
  const validator = new RowValidator('interactions', HEADER, DEFAULT_MAPPING, 'csv', NOW);
  return new ChunkReader(stream, new CsvSplitter({ delimiter: 0x2c }), validator, 'interactions', limit);
}

async function readAll(reader: ChunkReader): Promise<{ sizes: number[]; users: string[]; ends: number[] }> {
  const sizes: number[] = [];
  const users: string[] = [];
  const ends: number[] = [];
  for (;;) {
    const { builder, exhausted } = await reader.read();
    sizes.push(builder.size);
    users.push(...builder.interactions.map((row) => row.user_id));
    ends.push(builder.endOffset);
    if (exhausted) return { sizes, users, ends };
  }
}

describe('ChunkReader', () => {
  it.each([1, 7, 64, 100_000])('cuts consecutive chunks in file order with %i-byte pieces', async (size) => {
    const text = csvRows(10);
    const { sizes, users, ends } = await readAll(readerOver(pieces(text, size), 4));
    expect(sizes).toEqual([4, 4, 2]);
    expect(users).toEqual(Array.from({ length: 10 }, (_, index) => `u${index}`));
    expect(ends.at(-1)).toBe(Buffer.byteLength(text));
  });

  it('reports exhaustion on the chunk that ends exactly at the last record', async () => {
    const { sizes } = await readAll(readerOver(pieces(csvRows(8), 16), 4));
    expect(sizes).toEqual([4, 4]);
  });

  it('gives one empty, exhausted chunk for a stream without records', async () => {
    const { builder, exhausted } = await readerOver(Readable.from([]), 4).read();
    expect([builder.size, exhausted]).toEqual([0, true]);
  });

  it('refuses a second read while one is in progress (chunks must be cut in order)', async () => {
    const reader = readerOver(pieces(csvRows(10), 8), 4);
    const first = reader.read();
    await expect(reader.read()).rejects.toThrow('in progress');
    expect((await first).builder.size).toBe(4);
  });

  it('closes the underlying stream when abandoned', async () => {
    const stream = pieces(csvRows(100), 32);
    const reader = readerOver(stream, 10);
    await reader.read();
    await reader.close();
    expect(stream.destroyed).toBe(true);
  });
});
