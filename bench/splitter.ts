import { ChunkBuilder } from '../shared/ingest/chunk-builder';
import { DEFAULT_MAPPING } from '../shared/ingest/mapping';
import { CsvSplitter } from '../shared/ingest/records';
import { csvValidatorForHeader } from '../shared/ingest/validate';
import { median, report, type Row } from './report';

/**
 * The record splitter (plus validation) on a 16 MB interactions CSV fed in zlib's 16 KiB pieces, clean and
 * with a quote opened on row 2 that never closes — the case that was quadratic (25 s vs 2.5 s) and swallowed
 * every row after it. Target (#16): within 1.5× of each other, and the rows after the quote kept.
 */
const TARGET_BYTES = 16 * 1024 * 1024;
const PIECE_BYTES = 16 * 1024;
const PASSES = 5;
const HEADER = 'user_id,item_id,timestamp,event_type,event_value';

function file(brokenQuote: boolean): Buffer {
  const lines = [HEADER];
  let bytes = HEADER.length + 1;
  if (brokenQuote) lines.push('u0,"broken,1700000000,view,');
  for (let row = 0; bytes < TARGET_BYTES; row++) {
    const line = `user${row % 50_000},item${(row * 7) % 9_973},${1_700_000_000 + row},view,${row % 5}`;
    lines.push(line);
    bytes += line.length + 1;
  }
  return Buffer.from(`${lines.join('\n')}\n`);
}

function splitAndValidate(data: Buffer): {
  seconds: number;
  rows: number;
  accepted: number;
  rejected: number;
} {
  const started = performance.now();
  const splitter = new CsvSplitter({ delimiter: 0x2c });
  const validator = csvValidatorForHeader('interactions', HEADER.split(','), DEFAULT_MAPPING);
  let builder = new ChunkBuilder(validator, 'interactions');
  const totals = { rows: 0, accepted: 0, rejected: 0 };
  const take = (records: ReturnType<CsvSplitter['push']>) => {
    for (const record of records) {
      if (record.line === 1) continue;
      builder.add(record);
      if (builder.size >= 50_000) flush();
    }
  };
  const flush = () => {
    totals.rows += builder.counts.rows_in;
    totals.accepted += builder.interactions.length;
    totals.rejected += builder.counts.rejected;
    builder = new ChunkBuilder(validator, 'interactions');
  };
  for (let offset = 0; offset < data.length; offset += PIECE_BYTES)
    take(splitter.push(data.subarray(offset, offset + PIECE_BYTES)));
  take(splitter.end());
  flush();
  return { seconds: (performance.now() - started) / 1000, ...totals };
}

export async function runSplitterBenchmark(): Promise<void> {
  const rows: Row[] = [];
  const seconds: Record<string, number> = {};
  for (const [name, broken] of [
    ['clean', false],
    ['unclosed quote on row 2', true],
  ] as const) {
    const data = file(broken);
    splitAndValidate(data); // warm-up
    const runs = Array.from({ length: PASSES }, () => splitAndValidate(data));
    const last = runs.at(-1) as (typeof runs)[number];
    seconds[name] = median(runs.map((run) => run.seconds));
    rows.push({
      file: name,
      mb: Number((data.length / 1024 / 1024).toFixed(1)),
      rows: last.rows,
      accepted: last.accepted,
      rejected: last.rejected,
      median_seconds: Number((seconds[name] as number).toFixed(3)),
      mb_per_second: Number((data.length / 1024 / 1024 / (seconds[name] as number)).toFixed(1)),
    });
  }
  const ratio = (seconds['unclosed quote on row 2'] as number) / (seconds.clean as number);
  report('splitter', rows, {
    pieceBytes: PIECE_BYTES,
    passes: PASSES,
    brokenToCleanRatio: Number(ratio.toFixed(3)),
    target: 'broken / clean <= 1.5',
  });
}
