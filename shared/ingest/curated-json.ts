import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { InteractionRow } from '../data/records';

/** The rows of one curated object (gzipped JSON Lines), streamed: what training and serving read back. */
export async function* curatedObjectRows(
  s3: S3Client,
  bucket: string,
  key: string,
): AsyncGenerator<Record<string, unknown>> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const lines = createInterface({
    input: (object.Body as Readable).pipe(createGunzip()),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  for await (const line of lines) if (line) yield JSON.parse(line) as Record<string, unknown>;
}

/**
 * Curated interactions as JSON Lines bytes, written straight into one buffer.
 *
 * This is the hot path of every large file: building a string per row and
 * joining them cost more than parsing the CSV (bench/results/ingest.json), so
 * the usual plain-ASCII ids and event types are copied byte by byte and integer
 * timestamps written as digits; anything else (quotes, backslashes, control or
 * non-ASCII characters, fractional numbers) goes through JSON.stringify / String,
 * so the text is exactly what `JSON.stringify(row)` gives.
 */
const USER_ID = bytes('{"user_id":');
const ITEM_ID = bytes(',"item_id":');
const TIMESTAMP = bytes(',"timestamp":');
const EVENT_TYPE = bytes(',"event_type":');
const EVENT_VALUE = bytes(',"event_value":');
const QUOTE = 0x22;
const LINE_END = bytes('}\n');
/** Fixed bytes per row plus room for digits; strings are budgeted at their worst-case escaped length. */
const FIXED_BYTES_PER_ROW = 128;

function bytes(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'latin1'));
}

function putBytes(target: Buffer, offset: number, literal: Uint8Array): number {
  for (let index = 0; index < literal.length; index++) target[offset + index] = literal[index] as number;
  return offset + literal.length;
}

/** A JSON string literal; byte copy for printable ASCII without `"` or `\`. */
function putString(target: Buffer, offset: number, text: string): number {
  let position = offset;
  target[position++] = QUOTE;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x20 || code === QUOTE || code === 0x5c || code > 0x7e) {
      return offset + target.write(JSON.stringify(text), offset, 'utf8');
    }
    target[position++] = code;
  }
  target[position++] = QUOTE;
  return position;
}

/** A JSON number; digits written directly for non-negative integers below 10^10 (Unix seconds, counts). */
function putNumber(target: Buffer, offset: number, value: number): number {
  if (!(value >= 0 && value < 1e10 && Number.isInteger(value))) {
    return offset + target.write(JSON.stringify(value), offset, 'latin1');
  }
  // Two halves below 10^5 stay small integers (a 10-digit timestamp is a heap double).
  const high = Math.floor(value / 100_000);
  const low = value - high * 100_000;
  if (high === 0) return putSmallInteger(target, offset, low, false);
  const position = putSmallInteger(target, offset, high, false);
  return putSmallInteger(target, position, low, true);
}

/** Digits of 0 <= value < 10^5; `padded` writes exactly five (the low half of a larger number). */
function putSmallInteger(target: Buffer, offset: number, value: number, padded: boolean): number {
  const digits = padded
    ? 5
    : value >= 10_000
      ? 5
      : value >= 1000
        ? 4
        : value >= 100
          ? 3
          : value >= 10
            ? 2
            : 1;
  let rest = value;
  for (let position = offset + digits - 1; position >= offset; position--) {
    const next = (rest / 10) | 0;
    target[position] = 0x30 + rest - next * 10;
    rest = next;
  }
  return offset + digits;
}

/** Worst case: every character escaped as \uXXXX (6 bytes). */
function budget(row: InteractionRow): number {
  return FIXED_BYTES_PER_ROW + 6 * (row.user_id.length + row.item_id.length + row.event_type.length);
}

export function encodeCuratedInteractions(rows: readonly InteractionRow[]): Buffer {
  let capacity = 0;
  for (const row of rows) capacity += budget(row);
  const target = Buffer.allocUnsafe(capacity);
  let offset = 0;
  for (const row of rows) {
    offset = putBytes(target, offset, USER_ID);
    offset = putString(target, offset, row.user_id);
    offset = putBytes(target, offset, ITEM_ID);
    offset = putString(target, offset, row.item_id);
    offset = putBytes(target, offset, TIMESTAMP);
    offset = putNumber(target, offset, row.timestamp);
    offset = putBytes(target, offset, EVENT_TYPE);
    offset = putString(target, offset, row.event_type);
    if (row.event_value !== undefined) {
      offset = putBytes(target, offset, EVENT_VALUE);
      offset = putNumber(target, offset, row.event_value);
    }
    offset = putBytes(target, offset, LINE_END);
  }
  return target.subarray(0, offset);
}
