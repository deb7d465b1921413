import { gunzipSync, constants as zlibConstants } from 'node:zlib';
import { GetObjectCommand, HeadObjectCommand, NoSuchKey } from '@aws-sdk/client-s3';
import { type SourceObject, mappingKeysFor, rootMappingKey } from './layout';
import { API_EVENTS_FOLDER } from '../resources/definitions';
import {
  API_EVENTS_MAPPING,
  DEFAULT_MAPPING,
  delimiterByte,
  detectDelimiter,
  type Mapping,
  misplacedMappingField,
  parseMapping,
} from './mapping';
import { CsvSplitter } from './records';
import { canonicalHeader, missingRequiredColumns } from './validate';
import { type ReadPlan, type IngestionDeps, FileRejection } from './ingestion-types';

/** Step 1 of a file: its first bytes decide format, delimiter and header — or reject it whole. */
const SNIFF_BYTES = 64 * 1024;

/** Reads the object's first bytes and decides format, delimiter and header, or rejects the file. */
export async function planRead(deps: IngestionDeps, source: SourceObject): Promise<ReadPlan> {
  const mapping = await loadMapping(deps, source);
  const head = await deps.s3.send(
    new HeadObjectCommand({ Bucket: deps.bucket, Key: source.key, ...versionOf(source) }),
  );
  const objectSize = head.ContentLength ?? 0;
  if (objectSize === 0) throw new FileRejection('empty_file', 'the file is empty');
  const sample = await readSample(deps, source);
  const gzip = sample.gzip;
  let bytes = sample.bytes;
  if (bytes.length === 0) throw new FileRejection('empty_file', 'the file is empty');
  if (bytes.includes(0))
    throw new FileRejection('binary_content', 'the file contains NUL bytes: it is binary, not text');
  const complete = bytes.length < SNIFF_BYTES ? bytes : bytes.subarray(0, lastCharacterBoundary(bytes));
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(complete);
  } catch {
    throw new FileRejection('invalid_encoding', 'the file is not UTF-8 text (export it as UTF-8)');
  }
  let dataStart = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    dataStart = 3;
    bytes = bytes.subarray(3);
  }
  if (bytes.toString('utf8').trim() === '') throw new FileRejection('empty_file', 'the file has no rows');
  const format = mapping.format ?? (/\.(jsonl|ndjson)(\.gz)?$/i.test(source.key) ? 'jsonl' : 'csv');
  if (format === 'jsonl') {
    return { format, gzip, delimiter: 0x2c, header: [], mapping, dataStart, dataStartLine: 1, objectSize };
  }
  const newline = bytes.indexOf(0x0a);
  const firstLine = bytes.toString('utf8', 0, newline < 0 ? bytes.length : newline).replace(/\r$/, '');
  const delimiter = mapping.delimiter ? delimiterByte(mapping.delimiter) : detectDelimiter(firstLine);
  let header: string[];
  let dataStartLine = 1;
  if (mapping.header) {
    header = canonicalHeader(mapping.header, mapping);
  } else {
    const splitter = new CsvSplitter({ delimiter });
    const first = [...splitter.push(Buffer.from(`${firstLine}\n`)), ...splitter.end()][0];
    header = canonicalHeader(first?.fields ?? [], mapping);
    dataStart += newline < 0 ? bytes.length : newline + 1;
    dataStartLine = 2;
  }
  const repeated = header.findIndex((name, column) => header.indexOf(name) !== column);
  if (repeated >= 0) {
    const name = header[repeated] as string;
    throw new FileRejection(
      'duplicate_columns',
      `column '${name}' appears twice in the header (columns ${header.indexOf(name) + 1} and ${repeated + 1}, after renames): which one holds the value is ambiguous`,
    );
  }
  const missing = missingRequiredColumns(source.dataset, header, mapping);
  if (missing.length > 0) {
    throw new FileRejection(
      'missing_required_columns',
      `required column(s) ${missing.join(', ')} missing; the header has ${header.join(', ') || 'no columns'} (add a _mapping.json to rename columns or supply a header)`,
    );
  }
  return { format, gzip, delimiter, header, mapping, dataStart, dataStartLine, objectSize };
}

export function lastCharacterBoundary(bytes: Buffer): number {
  // Cut a possibly split multi-byte character at the end of the sample.
  let end = bytes.length;
  while (end > 0 && end > bytes.length - 4 && ((bytes[end - 1] as number) & 0xc0) === 0x80) end--;
  return end > 0 && (bytes[end - 1] as number) >= 0xc0 ? end - 1 : end;
}

export async function loadMapping(deps: IngestionDeps, source: SourceObject): Promise<Mapping> {
  if (source.key.startsWith(API_EVENTS_FOLDER)) return API_EVENTS_MAPPING;
  for (const key of mappingKeysFor(source.dataset, source.relativeKey)) {
    let text: string;
    try {
      const object = await deps.s3.send(new GetObjectCommand({ Bucket: deps.bucket, Key: key }));
      text = (await object.Body?.transformToString('utf8')) ?? '';
    } catch (error) {
      if (error instanceof NoSuchKey) continue;
      throw error;
    }
    try {
      const mapping = parseMapping(text);
      const misplaced = misplacedMappingField(
        mapping,
        source.dataset,
        key === rootMappingKey(source.dataset),
      );
      if (misplaced) throw new Error(misplaced);
      return mapping;
    } catch (error) {
      throw new FileRejection(
        'invalid_mapping',
        `${key}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  return DEFAULT_MAPPING;
}

/** The first SNIFF_BYTES of the decoded content, and whether the object is gzip. */
export async function readSample(
  deps: IngestionDeps,
  source: SourceObject,
): Promise<{ bytes: Buffer; gzip: boolean }> {
  const object = await deps.s3.send(
    new GetObjectCommand({
      Bucket: deps.bucket,
      Key: source.key,
      ...versionOf(source),
      Range: `bytes=0-${SNIFF_BYTES - 1}`,
    }),
  );
  const head = Buffer.from((await object.Body?.transformToByteArray()) ?? new Uint8Array());
  const gzip = head[0] === 0x1f && head[1] === 0x8b;
  if (!gzip) return { bytes: head, gzip };
  try {
    // A truncated gzip prefix decompresses as far as it goes with a sync flush.
    const decoded = gunzipSync(head, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    return { bytes: decoded.subarray(0, SNIFF_BYTES), gzip };
  } catch (error) {
    throw new FileRejection(
      'corrupt_gzip',
      `the file looks gzip-compressed but does not decompress: ${String(error)}`,
    );
  }
}

/** The version the event named, as request parameters (none for an unversioned event). */
export function versionOf(source: SourceObject): { VersionId?: string } {
  return source.versionId ? { VersionId: source.versionId } : {};
}
