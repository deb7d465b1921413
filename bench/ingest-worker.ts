import { createReadStream, readFileSync } from 'node:fs';
import { type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { parse as csvParse } from 'csv-parse';
import { serializeCurated } from '../shared/ingest/chunk-builder';
import { type ChunkRead, ChunkReader } from '../shared/ingest/chunk-reader';
import { DEFAULT_CHUNK_ROWS } from '../shared/ingest/ingestion-types';
import { DEFAULT_MAPPING } from '../shared/ingest/mapping';
import { CsvSplitter } from '../shared/ingest/records';
import { csvValidatorForHeader } from '../shared/ingest/validate';

/**
 * One measurement in a fresh process (so peak RSS is this measurement's own):
 *  - `parse`: gunzip + the CSV record splitter alone;
 *  - `csv-parse`: gunzip + npm's most used CSV parser alone (for context: what "a CSV parser" costs elsewhere);
 *  - `pipeline`: gunzip + split + validate/clean + curated gzip JSONL output per chunk,
 *    exactly the per-record work of the preprocess Lambda minus S3 and DynamoDB.
 * Prints one JSON line: rows, seconds, peak RSS.
 */
const COMMA = 0x2c;

/**
 * This process's own peak RSS (VmHWM). Not `resourceUsage().maxRSS`: on Linux
 * that carries over the parent's high-water mark through fork/exec, so a worker
 * spawned by a large parent would report the parent's memory.
 */
function peakRssMiB(): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) / 1024 : process.resourceUsage().maxRSS / 1024;
}

async function main(): Promise<void> {
  const [mode, file] = process.argv.slice(2);
  if ((mode !== 'parse' && mode !== 'pipeline' && mode !== 'csv-parse') || !file)
    throw new Error('usage: ingest-worker parse|csv-parse|pipeline <file.csv.gz>');
  const started = performance.now();
  const decoded = createReadStream(file).pipe(createGunzip()) as AsyncIterable<Buffer>;
  const { rows, curatedBytes } =
    mode === 'parse'
      ? await parseOnly(decoded)
      : mode === 'csv-parse'
        ? await csvParseOnly(decoded)
        : await pipeline(decoded);
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `${JSON.stringify({ mode, rows, seconds, rowsPerSecond: rows / seconds, peakRssMiB: peakRssMiB(), curatedBytes })}\n`,
  );
}

async function parseOnly(decoded: AsyncIterable<Buffer>): Promise<{ rows: number; curatedBytes: number }> {
  const splitter = new CsvSplitter({ delimiter: COMMA });
  let records = 0;
  for await (const chunk of decoded) records += splitter.push(chunk).length;
  records += splitter.end().length;
  return { rows: records - 1, curatedBytes: 0 }; // minus the header
}

async function csvParseOnly(decoded: AsyncIterable<Buffer>): Promise<{ rows: number; curatedBytes: number }> {
  let records = 0;
  for await (const record of (decoded as unknown as Readable).pipe(csvParse({ relax_column_count: true }))) {
    if (record) records++;
  }
  return { rows: records - 1, curatedBytes: 0 }; // minus the header
}

/** The preprocess Lambda's loop (shared/ingest/ingest-object.ts): read ahead one chunk while the last is published. */
async function pipeline(decoded: AsyncIterable<Buffer>): Promise<{ rows: number; curatedBytes: number }> {
  // Like planRead: the header line first, then the data rows from just past it.
  const iterator = decoded[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) return { rows: 0, curatedBytes: 0 };
  const headerEnd = first.value.indexOf(0x0a) + 1;
  const headerSplitter = new CsvSplitter({ delimiter: COMMA });
  const [header] = headerSplitter.push(first.value.subarray(0, headerEnd));
  const validator = csvValidatorForHeader('interactions', header?.fields ?? [], DEFAULT_MAPPING);
  const dataRows = async function* (): AsyncIterable<Buffer> {
    yield first.value.subarray(headerEnd);
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  };
  const splitter = new CsvSplitter({ delimiter: COMMA, startOffset: headerEnd, startLine: 2 });
  const reader = new ChunkReader(dataRows(), splitter, validator, 'interactions', DEFAULT_CHUNK_ROWS);
  let rows = 0;
  let curatedBytes = 0;
  let readAhead: Promise<ChunkRead> | undefined;
  for (;;) {
    const { builder, exhausted } = await (readAhead ?? reader.read());
    readAhead = exhausted ? undefined : reader.read();
    rows += builder.size;
    curatedBytes += (await serializeCurated('interactions', builder.interactions)).length;
    if (exhausted) break;
  }
  return { rows, curatedBytes };
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
