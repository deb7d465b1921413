import fc from 'fast-check';
import { ChunkBuilder } from '../../../shared/ingest/chunk-builder';
import { idProblem } from '../../../shared/data/ids';
import { DEFAULT_MAPPING } from '../../../shared/ingest/mapping';
import { CsvSplitter, type SourceRecord } from '../../../shared/ingest/records';
import { csvValidatorForHeader } from '../../../shared/ingest/validate';

const NOW = 1_767_225_600;
const HEADER = 'user_id,item_id,timestamp,event_type,event_value';
const REASONS = new Set([
  'field_count_mismatch',
  'unterminated_quote',
  'record_too_long',
  'malformed_json',
  'missing_required_field',
  'empty_id',
  'id_too_long',
  'invalid_id',
  'invalid_event_type',
  'value_too_large',
  'invalid_timestamp',
  'timestamp_in_future',
  'timestamp_too_old',
  'invalid_number',
  'out_of_bounds',
  'invalid_encoding',
]);

/** A field as exports get them wrong: quotes, delimiters, line breaks, NULs, huge or empty values. */
const field = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[a-z0-9]{1,8}$/) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 2_000_000_000 }).map(String) },
  fc.constantFrom(
    '',
    '"',
    '""',
    '"a,b"',
    '"open',
    'x"y',
    '\u0000',
    '\ufffd',
    'a'.repeat(300),
    '1e309',
    '-5',
    ' ',
  ),
  fc.string({ maxLength: 12 }),
);
const line = fc.array(field, { minLength: 3, maxLength: 6 }).map((fields) => fields.join(','));

function splitInPieces(text: string, piece: number): SourceRecord[] {
  const splitter = new CsvSplitter({ delimiter: 0x2c, maxRecordBytes: 4_096 });
  const bytes = Buffer.from(text, 'utf8');
  const records: SourceRecord[] = [];
  for (let offset = 0; offset < bytes.length; offset += piece)
    records.push(...splitter.push(bytes.subarray(offset, offset + piece)));
  records.push(...splitter.end());
  return records;
}

describe('ingestion under generated rows', () => {
  it('accounts for every row: accepted or rejected with a known reason and a message; accepted rows are clean', () => {
    fc.assert(
      fc.property(
        fc.array(line, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 64 }),
        (lines, piece) => {
          const records = splitInPieces(`${[HEADER, ...lines].join('\n')}\n`, piece);
          const [header, ...rows] = records;
          const builder = new ChunkBuilder(
            csvValidatorForHeader('interactions', header?.fields ?? [], DEFAULT_MAPPING, NOW),
            'interactions',
          );
          for (const record of rows) builder.add(record);
          expect(builder.counts.rows_in).toBe(rows.length);
          expect(builder.counts.rows_in).toBe(builder.interactions.length + builder.counts.rejected);
          for (const rejected of builder.rejected) {
            expect(REASONS.has(rejected.reason)).toBe(true);
            expect(rejected.message.length).toBeGreaterThan(0);
          }
          for (const row of builder.interactions) {
            expect(idProblem(row.user_id)).toBeUndefined();
            expect(idProblem(row.item_id)).toBeUndefined();
            expect(Number.isFinite(row.timestamp)).toBe(true);
          }
        },
      ),
      { numRuns: 2_000, seed: 1201 },
    );
  });

  it('splits the same records whatever the piece size (the scan state carries across pieces)', () => {
    fc.assert(
      fc.property(
        fc.array(line, { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 50 }),
        (lines, piece) => {
          const text = `${[HEADER, ...lines].join('\n')}\n`;
          const whole = splitInPieces(text, text.length + 1);
          const pieces = splitInPieces(text, piece);
          expect(pieces).toEqual(whole);
        },
      ),
      { numRuns: 2_000, seed: 1202 },
    );
  });
});
