import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { InteractionRow } from '../data/records';
import { DEFAULT_MAPPING, detectDelimiter } from './mapping';
import { CsvSplitter, LineSplitter, type RecordSplitter } from './records';
import { csvValidatorForHeader, RowValidator } from './validate';

/** Reads a canonical interactions CSV or JSONL file (optionally .gz), rejecting nothing silently. */
export async function readInteractionsFile(
  path: string,
): Promise<{ rows: InteractionRow[]; rejected: number }> {
  const jsonl = /\.(jsonl|ndjson)(\.gz)?$/i.test(path);
  const stream = path.endsWith('.gz') ? createReadStream(path).pipe(createGunzip()) : createReadStream(path);
  let splitter: RecordSplitter | undefined = jsonl ? new LineSplitter() : undefined;
  let validator: RowValidator | undefined = jsonl
    ? new RowValidator('interactions', [], DEFAULT_MAPPING, 'jsonl', Math.floor(Date.now() / 1000))
    : undefined;
  const rows: InteractionRow[] = [];
  let rejected = 0;
  const take = (records: ReturnType<RecordSplitter['push']>) => {
    for (const record of records) {
      if (!validator) {
        validator = csvValidatorForHeader('interactions', record.fields, DEFAULT_MAPPING);
        continue;
      }
      const result = validator.validate(record);
      if (result.ok && result.clean.dataset === 'interactions') rows.push(result.clean.row);
      else rejected++;
    }
  };
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (!splitter) {
      const firstLine = chunk.toString('utf8', 0, Math.max(0, chunk.indexOf(0x0a)));
      splitter = new CsvSplitter({ delimiter: detectDelimiter(firstLine) });
    }
    take(splitter.push(chunk));
  }
  if (splitter) take(splitter.end());
  return { rows, rejected };
}
