import { CsvSplitter, LineSplitter, type SourceRecord } from '../../../shared/ingest/records';

const COMMA = 0x2c;

/** Feeds text in pieces of `size` bytes, so records straddle chunk boundaries. */
function splitAll(text: string, size: number, delimiter = COMMA, maxRecordBytes?: number): SourceRecord[] {
  const splitter = new CsvSplitter({ delimiter, ...(maxRecordBytes ? { maxRecordBytes } : {}) });
  const bytes = Buffer.from(text, 'utf8');
  const records: SourceRecord[] = [];
  for (let offset = 0; offset < bytes.length; offset += size) {
    records.push(...splitter.push(bytes.subarray(offset, offset + size)));
  }
  records.push(...splitter.end());
  return records;
}

describe('CsvSplitter', () => {
  const text = 'a,b,c\r\n1,"x, y",3\n\n2,"he said ""hi""",4\n3,"multi\nline",5\n4,ü,6';

  it.each([1, 2, 3, 7, 1000])('parses RFC 4180 records identically with %i-byte chunks', (size) => {
    const records = splitAll(text, size);
    expect(records.map((record) => record.fields)).toEqual([
      ['a', 'b', 'c'],
      ['1', 'x, y', '3'],
      ['2', 'he said "hi"', '4'],
      ['3', 'multi\nline', '5'],
      ['4', 'ü', '6'],
    ]);
    expect(records.map((record) => record.line)).toEqual([1, 2, 4, 5, 7]);
    // The line after each record: the blank line 3 is skipped, the quoted line break spans lines 5-6.
    expect(records.map((record) => record.nextLine)).toEqual([2, 3, 5, 7, 8]);
    expect(records[1]?.raw).toBe('1,"x, y",3');
  });

  it('reports byte offsets just past each record, for range-read continuation', () => {
    const records = splitAll(text, 5);
    const bytes = Buffer.from(text, 'utf8');
    expect(records[0]?.endOffset).toBe(7);
    expect(records.at(-1)?.endOffset).toBe(bytes.length);
    // Re-parsing from a recorded offset yields exactly the remaining records.
    const resumed = new CsvSplitter({ delimiter: COMMA, startOffset: records[2]?.endOffset, startLine: 5 });
    const rest = [...resumed.push(bytes.subarray(records[2]?.endOffset)), ...resumed.end()];
    expect(rest.map((record) => [record.line, record.fields[0], record.endOffset])).toEqual([
      [5, '3', records[3]?.endOffset],
      [7, '4', bytes.length],
    ]);
  });

  it('flags an unterminated quote at the end of input', () => {
    const records = splitAll('a,b\n1,"open\n', 4);
    expect(records[1]).toMatchObject({ line: 2, error: 'unterminated_quote' });
  });

  it.each([4, 64, 4096])(
    'rejects only the line of a quote that never closes and keeps every row after it (%i-byte chunks)',
    (size) => {
      // Row 2 opens a quote that nothing closes; 2,000 valid rows follow.
      const rows = Array.from(
        { length: 2_000 },
        (_, index) => `u${index},i${index},${1_700_000_000 + index}`,
      );
      const text = ['user_id,item_id,timestamp', 'u0,"broken,1700000000', ...rows].join('\n');
      const records = splitAll(text, size, COMMA, 1024);
      expect(records[1]).toMatchObject({
        line: 2,
        error: 'unterminated_quote',
        raw: 'u0,"broken,1700000000',
      });
      expect(records.slice(2).map((record) => record.fields.join(','))).toEqual(rows);
      expect(records.slice(2).map((record) => record.line)).toEqual(rows.map((_, index) => index + 3));
      // Offsets stay exact: a continuation from the broken record's end reads the same rows.
      const bytes = Buffer.from(text, 'utf8');
      expect(records.at(-1)?.endOffset).toBe(bytes.length);
      expect(records[1]?.endOffset).toBe(bytes.indexOf('u0,i0'));
    },
  );

  it('does the same when the quote is still open at the end of input (within the record cap)', () => {
    const records = splitAll('a,b\n1,"open\n2,x\n3,y\n', 5);
    expect(records.map((record) => [record.line, record.error ?? record.fields.join('|')])).toEqual([
      [1, 'a|b'],
      [2, 'unterminated_quote'],
      [3, '2|x'],
      [4, '3|y'],
    ]);
  });

  it('skips a record longer than the cap to its line end, keeping only its first kilobyte', () => {
    const long = `u1,${'x'.repeat(5_000)},1`;
    const records = splitAll(['a,b,c', long, 'u2,i2,2'].join('\n'), 100, COMMA, 2_048);
    expect(records.map((record) => record.error ?? record.fields[0])).toEqual(['a', 'record_too_long', 'u2']);
    expect(records[1]?.raw.length).toBeLessThanOrEqual(1_025);
    expect(records[1]).toMatchObject({ line: 2, nextLine: 3 });
    expect(records[2]).toMatchObject({ line: 3 });
    // A long but legitimate multi-line quoted field under the cap is one record.
    const quoted = splitAll(`a\n"${'line\n'.repeat(100)}"\nb\n`, 7, COMMA, 2_048);
    expect(quoted.map((record) => record.error ?? record.fields[0]?.length)).toEqual([1, 500, 1]);
  });

  it('splits on semicolons and tabs too', () => {
    expect(splitAll('a;b\n1;2\n', 3, 0x3b).map((record) => record.fields)).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
    expect(splitAll('1\t2\t3\n', 2, 0x09)[0]?.fields).toEqual(['1', '2', '3']);
  });
});

describe('LineSplitter', () => {
  it('yields non-blank lines with line numbers and offsets', () => {
    const splitter = new LineSplitter();
    const bytes = Buffer.from('{"a":1}\r\n\n{"a":2}', 'utf8');
    const records = [
      ...splitter.push(bytes.subarray(0, 4)),
      ...splitter.push(bytes.subarray(4)),
      ...splitter.end(),
    ];
    expect(records.map((record) => [record.line, record.raw, record.endOffset])).toEqual([
      [1, '{"a":1}', 9],
      [3, '{"a":2}', bytes.length],
    ]);
  });
});

describe('LineSplitter record cap', () => {
  it('skips a line longer than the cap and keeps the lines after it', () => {
    const splitter = new LineSplitter({ maxRecordBytes: 1_024 });
    const bytes = Buffer.from(`{"a":1}\n{"a":"${'x'.repeat(10_000)}"}\n{"a":3}\n`, 'utf8');
    const records: SourceRecord[] = [];
    for (let offset = 0; offset < bytes.length; offset += 300)
      records.push(...splitter.push(bytes.subarray(offset, offset + 300)));
    records.push(...splitter.end());
    expect(records.map((record) => [record.line, record.error ?? record.raw])).toEqual([
      [1, '{"a":1}'],
      [2, 'record_too_long'],
      [3, '{"a":3}'],
    ]);
    expect(records[2]?.endOffset).toBe(bytes.length);
    expect(records[1]?.endOffset).toBe(bytes.indexOf('{"a":3}'));
  });
});
