/**
 * Streaming record splitters over raw bytes. Each yields records with the
 * physical line they start on, their raw text (for quarantine) and the byte
 * offset just past them (so a large file can continue from a record boundary
 * in a later invocation with an S3 range read).
 *
 * They work on bytes, not strings: delimiters, quotes and newlines are ASCII,
 * so fields are sliced from the buffer and decoded once, and byte offsets come
 * for free.
 */

export interface SourceRecord {
  /** 1-based physical line number where the record starts. */
  readonly line: number;
  /** The record's text without its line terminator. */
  readonly raw: string;
  /** Parsed fields (CSV) or `[raw]` (JSON Lines). */
  readonly fields: string[];
  /** Byte offset (in the decoded stream) just past this record's terminator. */
  readonly endOffset: number;
  /** Physical line just past this record (quoted fields may span lines). */
  readonly nextLine: number;
  /** Set when the record is structurally broken (e.g. an unterminated quote at end of input). */
  readonly error?: 'unterminated_quote';
}

export interface RecordSplitter {
  /** Feeds bytes; returns the records completed by them. */
  push(chunk: Buffer): SourceRecord[];
  /** Flushes the last record (one without a trailing newline). */
  end(): SourceRecord[];
}

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

export interface CsvSplitterOptions {
  /** Field delimiter byte: `,` `;` or tab. */
  readonly delimiter: number;
  /** Byte offset of the first byte fed (for continuation). @default 0 */
  readonly startOffset?: number;
  /** Line number of the first byte fed. @default 1 */
  readonly startLine?: number;
}

/**
 * RFC 4180 CSV: quoted fields may hold delimiters, doubled quotes and line
 * breaks; CRLF or LF line ends; blank lines are skipped.
 */
export class CsvSplitter implements RecordSplitter {
  private pending: Buffer = Buffer.alloc(0);
  private pendingOffset: number;
  private line: number;

  constructor(private readonly options: CsvSplitterOptions) {
    this.pendingOffset = options.startOffset ?? 0;
    this.line = options.startLine ?? 1;
  }

  push(chunk: Buffer): SourceRecord[] {
    const buffer = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    const records: SourceRecord[] = [];
    const consumed = this.scan(buffer, false, records);
    this.pending = buffer.subarray(consumed);
    this.pendingOffset += consumed;
    return records;
  }

  end(): SourceRecord[] {
    const records: SourceRecord[] = [];
    const consumed = this.scan(this.pending, true, records);
    this.pendingOffset += consumed;
    this.pending = Buffer.alloc(0);
    return records;
  }

  /** Parses complete records from `buffer`; returns how many bytes were consumed. */
  private scan(buffer: Buffer, final: boolean, out: SourceRecord[]): number {
    const delimiter = this.options.delimiter;
    const length = buffer.length;
    let recordStart = 0;
    let position = 0;
    while (recordStart < length) {
      const fields: string[] = [];
      let fieldStart = position;
      let inQuotes = false;
      let quoted = false;
      let newlines = 0;
      let recordEnd = -1; // index of the terminator
      let next = -1; // index after the terminator
      while (position < length) {
        const byte = buffer[position] as number;
        if (inQuotes) {
          if (byte === QUOTE) {
            if (buffer[position + 1] === QUOTE) {
              position += 2;
              continue;
            }
            if (position + 1 >= length && !final) break; // need the next byte to decide
            inQuotes = false;
          } else if (byte === LF) {
            newlines++;
          }
          position++;
          continue;
        }
        if (byte === QUOTE && position === fieldStart) {
          inQuotes = true;
          quoted = true;
          position++;
        } else if (byte === delimiter) {
          fields.push(decodeField(buffer, fieldStart, position, quoted));
          quoted = false;
          position++;
          fieldStart = position;
        } else if (byte === LF || byte === CR) {
          if (byte === CR && position + 1 >= length && !final) break; // CR at chunk end: wait for a possible LF
          recordEnd = position;
          next = byte === CR && buffer[position + 1] === LF ? position + 2 : position + 1;
          break;
        } else {
          position++;
        }
      }
      if (recordEnd < 0) {
        if (!final) return recordStart; // incomplete record: keep for the next chunk
        if (recordStart >= length) return length;
        // Last record without a trailing newline (or with an unterminated quote).
        fields.push(decodeField(buffer, fieldStart, length, quoted && !inQuotes));
        const raw = buffer.toString('utf8', recordStart, length);
        out.push({
          line: this.line,
          raw,
          fields,
          endOffset: this.pendingOffset + length,
          nextLine: this.line + newlines + 1,
          ...(inQuotes ? { error: 'unterminated_quote' as const } : {}),
        });
        this.line += newlines + 1;
        return length;
      }
      fields.push(decodeField(buffer, fieldStart, recordEnd, quoted));
      const isBlank = recordEnd === recordStart;
      if (!isBlank) {
        out.push({
          line: this.line,
          raw: buffer.toString('utf8', recordStart, recordEnd),
          fields,
          endOffset: this.pendingOffset + next,
          nextLine: this.line + newlines + 1,
        });
      }
      this.line += newlines + 1;
      recordStart = next;
      position = next;
    }
    return recordStart;
  }
}

function decodeField(buffer: Buffer, start: number, end: number, quoted: boolean): string {
  if (!quoted) return buffer.toString('utf8', start, end);
  // Strip the surrounding quotes (a closing one may be absent on a broken last record) and undouble inner ones.
  const closes = end - start >= 2 && buffer[end - 1] === QUOTE;
  const text = buffer.toString('utf8', start + 1, closes ? end - 1 : end);
  return text.includes('""') ? text.replace(/""/g, '"') : text;
}

/** JSON Lines: one record per line; fields are `[line text]`, parsed later. */
export class LineSplitter implements RecordSplitter {
  private pending: Buffer = Buffer.alloc(0);
  private pendingOffset: number;
  private line: number;

  constructor(options: { startOffset?: number; startLine?: number } = {}) {
    this.pendingOffset = options.startOffset ?? 0;
    this.line = options.startLine ?? 1;
  }

  push(chunk: Buffer): SourceRecord[] {
    const buffer = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    const records: SourceRecord[] = [];
    let start = 0;
    for (let newline = buffer.indexOf(LF, start); newline >= 0; newline = buffer.indexOf(LF, start)) {
      const end = newline > start && buffer[newline - 1] === CR ? newline - 1 : newline;
      this.emit(buffer, start, end, newline + 1, records);
      start = newline + 1;
    }
    this.pending = buffer.subarray(start);
    this.pendingOffset += start;
    return records;
  }

  end(): SourceRecord[] {
    const records: SourceRecord[] = [];
    if (this.pending.length > 0)
      this.emit(this.pending, 0, this.pending.length, this.pending.length, records);
    this.pendingOffset += this.pending.length;
    this.pending = Buffer.alloc(0);
    return records;
  }

  private emit(buffer: Buffer, start: number, end: number, next: number, out: SourceRecord[]): void {
    const raw = buffer.toString('utf8', start, end);
    if (raw.trim().length > 0)
      out.push({
        line: this.line,
        raw,
        fields: [raw],
        endOffset: this.pendingOffset + next,
        nextLine: this.line + 1,
      });
    this.line++;
  }
}
