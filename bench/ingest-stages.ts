import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ChunkBuilder } from '../shared/ingest/chunk-builder';
import { encodeCuratedInteractions } from '../shared/ingest/curated-json';
import { DEFAULT_CHUNK_ROWS } from '../shared/ingest/ingestion-types';
import { DEFAULT_MAPPING } from '../shared/ingest/mapping';
import { CsvSplitter, type SourceRecord } from '../shared/ingest/records';
import { csvValidatorForHeader } from '../shared/ingest/validate';
import { median } from './report';

/**
 * Where the pipeline's time goes, per row, in one process with a warm JIT and
 * the decompressed file in memory (no stream, no thread pool): each stage adds
 * one step of the preprocess Lambda's per-record work to the one before.
 *
 *  - split: the CSV record splitter alone (the benchmark's "raw parse" minus gunzip);
 *  - validate: + validating each record (result dropped);
 *  - keep: + keeping each chunk's clean rows alive until the chunk is complete,
 *    as the feature-store update needs them (ChunkBuilder, 50,000-row chunks);
 *  - encode: + the curated JSON Lines bytes of each chunk;
 *  - gzip: + compressing them (level 1), here on the main thread; in the
 *    pipeline it runs on libuv's thread pool, as does gunzip (timed alone).
 *
 * The ceiling it prints is the best pipeline/parse ratio the main thread allows
 * if gzip and gunzip were entirely hidden on the other core.
 * Usage: ingest-stages <file.csv.gz>; prints one JSON line.
 */
const COMMA = 0x2c;
/** The size of the pieces zlib streams hand over (its default chunk size), as in the pipeline. */
const PIECE_BYTES = 16 * 1024;
const PASSES = 6;

const STAGES = ['split', 'validate', 'keep', 'encode', 'gzip'] as const;
type Stage = (typeof STAGES)[number];

function runStage(stage: Stage, data: Buffer): number {
  const headerEnd = data.indexOf(0x0a) + 1;
  const header = data.toString('utf8', 0, headerEnd).trim().split(',');
  const validator = csvValidatorForHeader('interactions', header, DEFAULT_MAPPING);
  const splitter = new CsvSplitter({ delimiter: COMMA, startOffset: headerEnd, startLine: 2 });
  let builder = new ChunkBuilder(validator, 'interactions');
  let rows = 0;
  const completeChunk = () => {
    if (stage === 'encode') encodeCuratedInteractions(builder.interactions);
    if (stage === 'gzip') gzipSync(encodeCuratedInteractions(builder.interactions), { level: 1 });
    builder = new ChunkBuilder(validator, 'interactions');
  };
  const take = (records: readonly SourceRecord[]) => {
    rows += records.length;
    if (stage === 'split') return;
    for (const record of records) {
      if (stage === 'validate') {
        validator.validate(record);
        continue;
      }
      builder.add(record);
      if (builder.size >= DEFAULT_CHUNK_ROWS) completeChunk();
    }
  };
  for (let offset = headerEnd; offset < data.length; offset += PIECE_BYTES) {
    take(splitter.push(data.subarray(offset, Math.min(data.length, offset + PIECE_BYTES))));
  }
  take(splitter.end());
  if (stage !== 'split' && stage !== 'validate') completeChunk();
  return rows;
}

function main(): void {
  const file = process.argv[2];
  if (!file) throw new Error('usage: ingest-stages <file.csv.gz>');
  const compressed = readFileSync(file);
  const data = gunzipSync(compressed);
  const microseconds = (seconds: number) => Number((seconds * 1e6).toFixed(3));
  // Passes interleave the stages, so a slow spell of the machine hits all of them alike.
  const samples: Record<Stage | 'gunzip', number[]> = {
    split: [],
    validate: [],
    keep: [],
    encode: [],
    gzip: [],
    gunzip: [],
  };
  let rows = 0;
  const secondsSince = (started: number) => (performance.now() - started) / 1000;
  for (let pass = 0; pass < PASSES; pass++) {
    for (const stage of STAGES) {
      const started = performance.now();
      rows = runStage(stage, data);
      if (pass > 0) samples[stage].push(secondsSince(started) / rows); // the first pass warms the JIT
    }
    const started = performance.now();
    gunzipSync(compressed);
    if (pass > 0) samples.gunzip.push(secondsSince(started) / rows);
  }
  const cumulative = (stage: keyof typeof samples) => median(samples[stage]);
  const mainThread = {
    split: cumulative('split'),
    validate: cumulative('validate') - cumulative('split'),
    keep: cumulative('keep') - cumulative('validate'),
    encode: cumulative('encode') - cumulative('keep'),
  };
  process.stdout.write(
    `${JSON.stringify({
      rows,
      us_per_row: {
        split: microseconds(mainThread.split),
        validate: microseconds(mainThread.validate),
        keep_chunk_rows: microseconds(mainThread.keep),
        encode: microseconds(mainThread.encode),
        gzip_level1_thread_pool: microseconds(cumulative('gzip') - cumulative('encode')),
        gunzip_thread_pool: microseconds(cumulative('gunzip')),
      },
      ceiling_pipeline_vs_parse: Number((cumulative('split') / cumulative('encode')).toFixed(3)),
    })}\n`,
  );
}

main();
