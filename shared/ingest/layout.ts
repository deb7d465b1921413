import { createHash } from 'node:crypto';
import { DATA_LAKE_PREFIXES, DATASETS, type Dataset } from '../resources/definitions';
import { MAPPING_FILE_NAME } from './mapping';

/**
 * Where ingestion reads and writes, derived only from the source key and its
 * ETag, so a re-delivered event writes the same keys (overwrite, not duplicate).
 */
export const CONTINUATIONS_FOLDER = '_continuations/';

export interface SourceObject {
  readonly key: string;
  readonly etag: string;
  /**
   * The object version the S3 event named (the data bucket is versioned): every read
   * of the file uses it, so a file overwritten mid-ingestion is read as planned.
   */
  readonly versionId?: string;
  readonly dataset: Dataset;
  /** The key below `incoming/<dataset>/`, e.g. `2026/11/orders.csv.gz`. */
  readonly relativeKey: string;
}

/** What a drop-folder key is: a data file, a mapping, a continuation marker, or nothing of ours. */
export type DropFolderEntry =
  | { kind: 'data'; dataset: Dataset; relativeKey: string }
  | { kind: 'mapping' }
  | { kind: 'continuation'; dataset: Dataset }
  | { kind: 'ignored'; why: string };

export function classifyKey(key: string): DropFolderEntry {
  const match = /^incoming\/([^/]+)\/(.+)$/.exec(key);
  if (!match) return { kind: 'ignored', why: 'not under incoming/<dataset>/' };
  const dataset = match[1] as Dataset;
  const relativeKey = match[2] as string;
  if (!DATASETS.includes(dataset)) return { kind: 'ignored', why: `unknown dataset '${match[1]}'` };
  if (relativeKey.startsWith(CONTINUATIONS_FOLDER)) return { kind: 'continuation', dataset };
  if (relativeKey === MAPPING_FILE_NAME || relativeKey.endsWith(`/${MAPPING_FILE_NAME}`))
    return { kind: 'mapping' };
  if (relativeKey.endsWith('/')) return { kind: 'ignored', why: 'folder placeholder' };
  return { kind: 'data', dataset, relativeKey };
}

/** Candidate mapping keys for a data key, nearest folder first. */
/** The dataset's own mapping, `incoming/<dataset>/_mapping.json` (the one whose `events` training reads). */
export function rootMappingKey(dataset: Dataset): string {
  return `${DATA_LAKE_PREFIXES.incoming}${dataset}/${MAPPING_FILE_NAME}`;
}

export function mappingKeysFor(dataset: Dataset, relativeKey: string): string[] {
  const parts = relativeKey.split('/').slice(0, -1);
  const keys: string[] = [];
  for (let depth = parts.length; depth >= 0; depth--) {
    const folder = parts.slice(0, depth).join('/');
    keys.push(`${DATA_LAKE_PREFIXES.incoming}${dataset}/${folder ? `${folder}/` : ''}${MAPPING_FILE_NAME}`);
  }
  return keys;
}

const pad = (n: number) => String(n).padStart(5, '0');

export function curatedFolder(source: SourceObject): string {
  return `${DATA_LAKE_PREFIXES.curated}${source.dataset}/${source.relativeKey}/`;
}

export function curatedPartKey(source: SourceObject, chunk: number): string {
  return `${curatedFolder(source)}etag=${source.etag}/part-${pad(chunk)}.jsonl.gz`;
}

export function rejectedPartKey(source: SourceObject, chunk: number): string {
  return `${DATA_LAKE_PREFIXES.rejected}${source.dataset}/_parts/${source.relativeKey}/etag=${source.etag}/part-${pad(chunk)}.jsonl`;
}

export function rejectedRowsKey(source: SourceObject): string {
  return `${DATA_LAKE_PREFIXES.rejected}${source.dataset}/${source.relativeKey}.jsonl`;
}

export function quarantinedFileKey(source: SourceObject): string {
  return `${DATA_LAKE_PREFIXES.rejected}${source.dataset}/files/${source.relativeKey}`;
}

export function reportKey(source: Pick<SourceObject, 'dataset' | 'relativeKey'>): string {
  return `${DATA_LAKE_PREFIXES.reports}ingestion/${source.dataset}/${source.relativeKey}.json`;
}

export function continuationKey(source: SourceObject, chunk: number): string {
  const id = createHash('sha256').update(`${source.key}\0${source.etag}`).digest('hex').slice(0, 24);
  return `${DATA_LAKE_PREFIXES.incoming}${source.dataset}/${CONTINUATIONS_FOLDER}${id}-${pad(chunk)}.json`;
}

export function ledgerKey(source: Pick<SourceObject, 'key' | 'etag'>): string {
  return `ingest#${source.key}|${source.etag}`;
}
