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
  /** The record's text without its line terminator (its first kilobytes only, for an over-long record). */
  readonly raw: string;
  /** Parsed fields (CSV) or `[raw]` (JSON Lines). */
  readonly fields: string[];
  /** Byte offset (in the decoded stream) just past this record's terminator. */
  readonly endOffset: number;
  /** Physical line just past this record (quoted fields may span lines). */
  readonly nextLine: number;
  /**
   * Set when the record is structurally broken: a quote that never closes (only its first line is the
   * record; reading resumes on the next line), or a record longer than the cap (skipped to its line end).
   */
  readonly error?: 'unterminated_quote' | 'record_too_long';
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

/** Longest record (bytes) either splitter holds by default; the mapping's `maxRecordBytes` changes it. */
export const DEFAULT_MAX_RECORD_BYTES = 1024 * 1024;
/** How much of an over-long record the rejected row keeps. */
const RAW_PREFIX_BYTES = 1024;

export interface CsvSplitterOptions {
  /** Field delimiter byte: `,` `;` or tab. */
  readonly delimiter: number;
  /** Byte offset of the first byte fed (for continuation). @default 0 */
  readonly startOffset?: number;
  /** Line number of the first byte fed. @default 1 */
  readonly startLine?: number;
  /** @default DEFAULT_MAX_RECORD_BYTES */
  readonly maxRecordBytes?: number;
}

/** An over-long record being skipped to its line end: reported once its end (and so its offset) is known. */
interface Skipped {
  readonly line: number;
  readonly raw: string;
}

/**
 * RFC 4180 CSV: quoted fields may hold delimiters, doubled quotes and line
 * breaks; CRLF or LF line ends; blank lines are skipped.
 *
 * Linear in its input: the scan state of an unfinished record (position, open quote, fields so far) is kept
 * between pieces, so each byte is scanned once, and no record may exceed `maxRecordBytes` — so neither time
 * nor memory depends on how a file breaks. A quote that has not closed by then (or by the end of input) makes
 * its first line an `unterminated_quote` record, and reading resumes on the line after it: the valid rows that
 * follow survive.
 */
export class CsvSplitter implements RecordSplitter {
  private pending: Buffer = Buffer.alloc(0);
  private pendingOffset: number;
  private line: number;
  private readonly maxRecordBytes: number;
  // Scan state of the record that starts at pending[0].
  private scanned = 0;
  private fieldStart = 0;
  private inQuotes = false;
  private quoted = false;
  private newlines = 0;
  private fields: string[] = [];
  /** Index of the first line break inside the record (inside quotes), or -1. */
  private firstLineEnd = -1;
  private skipped: Skipped | undefined;

  constructor(private readonly options: CsvSplitterOptions) {
    this.pendingOffset = options.startOffset ?? 0;
    this.line = options.startLine ?? 1;
    this.maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  }

  push(chunk: Buffer): SourceRecord[] {
    this.pending = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    const records: SourceRecord[] = [];
    this.scan(false, records);
    return records;
  }

  end(): SourceRecord[] {
    const records: SourceRecord[] = [];
    this.scan(true, records);
    this.consume(this.pending.length);
    return records;
  }

  /** Drops `count` bytes from the front of `pending`; the next record starts there. */
  private consume(count: number): void {
    this.pending = this.pending.subarray(count);
    this.pendingOffset += count;
    this.scanned = 0;
    this.fieldStart = 0;
    this.inQuotes = false;
    this.quoted = false;
    this.newlines = 0;
    this.fields = [];
    this.firstLineEnd = -1;
  }

  private scan(final: boolean, out: SourceRecord[]): void {
    const delimiter = this.options.delimiter;
    for (;;) {
      const buffer = this.pending;
      const length = buffer.length;
      if (this.skipped) {
        const lineEnd = buffer.indexOf(LF);
        if (lineEnd < 0 && !final) {
          this.consume(length); // nothing of an over-long line is kept
          return;
        }
        const next = lineEnd < 0 ? length : lineEnd + 1;
        out.push({
          ...this.skipped,
          fields: [],
          endOffset: this.pendingOffset + next,
          nextLine: this.skipped.line + 1,
          error: 'record_too_long',
        });
        this.line = this.skipped.line + 1;
        this.skipped = undefined;
        this.consume(next);
        continue;
      }
      if (length === 0) return;
      let position = this.scanned;
      let recordEnd = -1; // index of the terminator
      let next = -1; // index after the terminator
      while (position < length) {
        const byte = buffer[position] as number;
        if (this.inQuotes) {
          if (byte === QUOTE) {
            if (buffer[position + 1] === QUOTE) {
              position += 2;
              continue;
            }
            if (position + 1 >= length && !final) break; // need the next byte to decide
            this.inQuotes = false;
          } else if (byte === LF) {
            this.newlines++;
            if (this.firstLineEnd < 0) this.firstLineEnd = position;
          }
          position++;
          continue;
        }
        if (byte === QUOTE && position === this.fieldStart) {
          this.inQuotes = true;
          this.quoted = true;
          position++;
        } else if (byte === delimiter) {
          this.fields.push(decodeField(buffer, this.fieldStart, position, this.quoted));
          this.quoted = false;
          position++;
          this.fieldStart = position;
        } else if (byte === LF || byte === CR) {
          if (byte === CR && position + 1 >= length && !final) break; // CR at chunk end: wait for a possible LF
          recordEnd = position;
          next = byte === CR && buffer[position + 1] === LF ? position + 2 : position + 1;
          break;
        } else {
          position++;
        }
      }
      if (recordEnd >= 0) {
        this.fields.push(decodeField(buffer, this.fieldStart, recordEnd, this.quoted));
        if (recordEnd > 0) {
          out.push({
            line: this.line,
            raw: buffer.toString('utf8', 0, recordEnd),
            fields: this.fields,
            endOffset: this.pendingOffset + next,
            nextLine: this.line + this.newlines + 1,
          });
        }
        this.line += this.newlines + 1;
        this.consume(next);
        continue;
      }
      if (this.inQuotes && this.firstLineEnd >= 0 && (final || length >= this.maxRecordBytes)) {
        this.unterminatedQuote(buffer, out);
        continue;
      }
      if (final) {
        // The last record without a trailing newline (or a quote opened on the last line).
        this.fields.push(decodeField(buffer, this.fieldStart, length, this.quoted && !this.inQuotes));
        out.push({
          line: this.line,
          raw: buffer.toString('utf8', 0, length),
          fields: this.fields,
          endOffset: this.pendingOffset + length,
          nextLine: this.line + this.newlines + 1,
          ...(this.inQuotes ? { error: 'unterminated_quote' as const } : {}),
        });
        this.line += this.newlines + 1;
        this.consume(length);
        return;
      }
      if (length >= this.maxRecordBytes) {
        // One line longer than the cap: report it once its end is found, keep nothing of it meanwhile.
        this.skipped = { line: this.line, raw: `${buffer.toString('utf8', 0, RAW_PREFIX_BYTES)}…` };
        this.consume(length);
        return;
      }
      this.scanned = position;
      return;
    }
  }

  /** The record's first line is the broken row; the rest is scanned again as the rows it really is. */
  private unterminatedQuote(buffer: Buffer, out: SourceRecord[]): void {
    const lineEnd = this.firstLineEnd;
    const textEnd = lineEnd > 0 && buffer[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
    const raw = buffer.toString('utf8', 0, Math.min(textEnd, RAW_PREFIX_BYTES));
    out.push({
      line: this.line,
      raw: textEnd > RAW_PREFIX_BYTES ? `${raw}…` : raw,
      fields: [],
      endOffset: this.pendingOffset + lineEnd + 1,
      nextLine: this.line + 1,
      error: 'unterminated_quote',
    });
    this.line += 1;
    this.consume(lineEnd + 1);
  }
}

function decodeField(buffer: Buffer, start: number, end: number, quoted: boolean): string {
  if (!quoted) return buffer.toString('utf8', start, end);
  // Strip the surrounding quotes (a closing one may be absent on a broken last record) and undouble inner ones.
  const closes = end - start >= 2 && buffer[end - 1] === QUOTE;
  const text = buffer.toString('utf8', start + 1, closes ? end - 1 : end);
  return text.includes('""') ? text.replace(/""/g, '"') : text;
}

/**
 * JSON Lines: one record per line; fields are `[line text]`, parsed later. Linear: the search for the next
 * line break resumes where the last one stopped, and a line over `maxRecordBytes` is skipped to its end.
 */
export class LineSplitter implements RecordSplitter {
  private pending: Buffer = Buffer.alloc(0);
  private pendingOffset: number;
  private line: number;
  private readonly maxRecordBytes: number;
  /** Where the search for a line break resumes in `pending`. */
  private searched = 0;
  private skipped: Skipped | undefined;

  constructor(options: { startOffset?: number; startLine?: number; maxRecordBytes?: number } = {}) {
    this.pendingOffset = options.startOffset ?? 0;
    this.line = options.startLine ?? 1;
    this.maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  }

  push(chunk: Buffer): SourceRecord[] {
    const buffer = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    const records: SourceRecord[] = [];
    let start = 0;
    for (let newline = buffer.indexOf(LF, this.searched); newline >= 0; newline = buffer.indexOf(LF, start)) {
      if (this.skipped) this.emitSkipped(newline + 1, records);
      else {
        const end = newline > start && buffer[newline - 1] === CR ? newline - 1 : newline;
        this.emit(buffer, start, end, newline + 1, records);
      }
      start = newline + 1;
    }
    this.pending = buffer.subarray(start);
    this.pendingOffset += start;
    this.searched = this.pending.length;
    if (this.pending.length >= this.maxRecordBytes || (this.skipped && this.pending.length > 0)) {
      this.skipped ??= { line: this.line, raw: `${this.pending.toString('utf8', 0, RAW_PREFIX_BYTES)}…` };
      this.pendingOffset += this.pending.length;
      this.pending = Buffer.alloc(0);
      this.searched = 0;
    }
    return records;
  }

  end(): SourceRecord[] {
    const records: SourceRecord[] = [];
    if (this.skipped) this.emitSkipped(this.pending.length, records);
    else if (this.pending.length > 0)
      this.emit(this.pending, 0, this.pending.length, this.pending.length, records);
    this.pendingOffset += this.pending.length;
    this.pending = Buffer.alloc(0);
    this.searched = 0;
    return records;
  }

  /** Reports the over-long line being skipped; `next` is the index in `pending` just past its end. */
  private emitSkipped(next: number, out: SourceRecord[]): void {
    const skipped = this.skipped as Skipped;
    out.push({
      ...skipped,
      fields: [],
      endOffset: this.pendingOffset + next,
      nextLine: skipped.line + 1,
      error: 'record_too_long',
    });
    this.line = skipped.line + 1;
    this.skipped = undefined;
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
