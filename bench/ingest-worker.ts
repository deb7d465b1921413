import { createReadStream, readFileSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { ChunkBuilder, serializeCurated } from '../shared/ingest/chunk-builder';
import { DEFAULT_CHUNK_ROWS } from '../shared/ingest/ingest-object';
import { DEFAULT_MAPPING } from '../shared/ingest/mapping';
import { CsvSplitter } from '../shared/ingest/records';
import { csvValidatorForHeader, type RowValidator } from '../shared/ingest/validate';

/**
 * One measurement in a fresh process (so peak RSS is this measurement's own):
 *  - `parse`: gunzip + the CSV record splitter alone;
 *  - `pipeline`: gunzip + split + validate/clean + curated gzip JSONL output per chunk,
 *    exactly the per-record work of the preprocess Lambda minus S3 and DynamoDB.
 * Prints one JSON line: rows, seconds, peak RSS.
 */
const CHUNK_ROWS = DEFAULT_CHUNK_ROWS;

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
  if ((mode !== 'parse' && mode !== 'pipeline') || !file)
    throw new Error('usage: ingest-worker parse|pipeline <file.csv.gz>');
  const started = performance.now();
  const splitter = new CsvSplitter({ delimiter: 0x2c });
  let rows = 0;
  let curatedBytes = 0;
  let builder: ChunkBuilder | undefined;
  let validator: RowValidator | undefined;
  const flush = async () => {
    if (!builder) return;
    curatedBytes += (await serializeCurated('interactions', builder.interactions)).length;
    builder = validator ? new ChunkBuilder(validator, 'interactions') : undefined;
  };
  for await (const chunk of createReadStream(file).pipe(createGunzip()) as AsyncIterable<Buffer>) {
    for (const record of splitter.push(chunk)) {
      if (!validator) {
        validator = csvValidatorForHeader('interactions', record.fields, DEFAULT_MAPPING);
        builder = new ChunkBuilder(validator, 'interactions');
        continue;
      }
      rows++;
      if (mode === 'pipeline' && builder) {
        builder.add(record);
        if (builder.size >= CHUNK_ROWS) await flush();
      }
    }
  }
  for (const record of splitter.end()) {
    rows++;
    builder?.add(record);
  }
  if (mode === 'pipeline') await flush();
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `${JSON.stringify({ mode, rows, seconds, rowsPerSecond: rows / seconds, peakRssMiB: peakRssMiB(), curatedBytes })}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
