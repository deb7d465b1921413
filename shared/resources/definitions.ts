/**
 * The one source of truth for Mappa's storage resources: the data-lake layout and
 * the DynamoDB tables (names, keys, indexes, TTL). The CDK constructs in `infra/`
 * and the embedded local stack in `shared/local/` both build from these, so a
 * table created locally has exactly the keys the cloud one has.
 */

/** Datasets a team can drop into the bucket, each under `incoming/<dataset>/`. */
export const DATASETS = ['interactions', 'users', 'items'] as const;
export type Dataset = (typeof DATASETS)[number];

/** Top-level prefixes of the data-lake bucket, each with one purpose. */
export const DATA_LAKE_PREFIXES = {
  /** Drop folder: files land here and trigger preprocessing. */
  incoming: 'incoming/',
  /** Cleaned, validated data the training job reads. */
  curated: 'curated/',
  /** Quarantined rows and whole files, with reasons. */
  rejected: 'rejected/',
  /** Ingestion and training reports. */
  reports: 'reports/',
  /** Versioned model artifacts plus `models/manifest.json`. */
  models: 'models/',
  /** Campaign exports (segments, batch recommendations). */
  exports: 'exports/',
} as const;

/** The drop-folder prefix that triggers preprocessing for one dataset. */
export function incomingPrefix(dataset: Dataset): string {
  return `${DATA_LAKE_PREFIXES.incoming}${dataset}/`;
}

/**
 * The interactions dataset's mapping: its `events` field (weights, thresholds, negative types) is the event
 * policy the training job learns with.
 */
export const EVENT_POLICY_KEY = `${incomingPrefix('interactions')}_mapping.json`;

/** Where events posted to the API land in the drop folder: JSON Lines in the canonical interaction columns. */
export const API_EVENTS_FOLDER = `${incomingPrefix('interactions')}api-events/`;

/**
 * The Firehose delivery stream that carries `POST /v1/events` into the drop folder. Firehose buffers
 * records and writes one object per buffer (whichever hint is reached first), so ingestion sees a file
 * a minute instead of one per request. The CDK stream and the local double both build from this.
 */
export const EVENTS_DELIVERY = {
  /** Suffix of the stream name: `<namePrefix>-<nameSuffix>`. */
  nameSuffix: 'api-events',
  /** Firehose's S3 prefix, with its timestamp namespace (UTC day folders). */
  prefix: `${API_EVENTS_FOLDER}!{timestamp:yyyy-MM-dd}/`,
  /** Required by Firehose once `prefix` has expressions; only processing or conversion errors land here. */
  errorOutputPrefix: `${DATA_LAKE_PREFIXES.rejected}api-events-delivery/!{firehose:error-output-type}/!{timestamp:yyyy-MM-dd}/`,
  fileExtension: '.jsonl',
  /** Firehose's defaults; 60 s keeps the newest events out of the drop folder for at most a minute. */
  bufferingIntervalSeconds: 60,
  bufferingSizeMiB: 5,
} as const;

/** The events delivery stream's name in a stage. */
export function eventsStreamName(namePrefix: string): string {
  return `${namePrefix}-${EVENTS_DELIVERY.nameSuffix}`;
}

/** The S3 prefix of a Firehose prefix expression at one instant (its `!{timestamp:…}` namespaces, UTC). */
export function expandDeliveryPrefix(
  prefix: string,
  at: Date,
  errorOutputType = 'processing-failed',
): string {
  const pad = (value: number, width = 2) => String(value).padStart(width, '0');
  const parts: Record<string, string> = {
    yyyy: String(at.getUTCFullYear()),
    MM: pad(at.getUTCMonth() + 1),
    dd: pad(at.getUTCDate()),
    HH: pad(at.getUTCHours()),
    mm: pad(at.getUTCMinutes()),
  };
  return prefix
    .replace(/!\{timestamp:([^}]+)\}/g, (_match, format: string) =>
      format.replace(/yyyy|MM|dd|HH|mm/g, (token) => parts[token] as string),
    )
    .replace(/!\{firehose:error-output-type\}/g, errorOutputType);
}

export type AttributeType = 'S' | 'N' | 'B';

export interface KeyAttribute {
  readonly name: string;
  readonly type: AttributeType;
}

export interface GlobalSecondaryIndexDefinition {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
}

export interface TableDefinition {
  /** Suffix of the physical table name: `<namePrefix>-<nameSuffix>`. */
  readonly nameSuffix: string;
  /** What the table holds, for documentation and the CDK description. */
  readonly purpose: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly globalSecondaryIndexes?: readonly GlobalSecondaryIndexDefinition[];
  /** Attribute holding an expiry epoch-seconds value; DynamoDB deletes expired items. */
  readonly timeToLiveAttribute?: string;
}

export const TABLES = {
  users: {
    nameSuffix: 'users',
    purpose: 'Per-user features: RFM, event counts, first/last seen, top categories, recent interactions',
    partitionKey: { name: 'user_id', type: 'S' },
  },
  items: {
    nameSuffix: 'items',
    purpose: 'Per-item features: popularity (all-time and recent), category, price, attributes',
    partitionKey: { name: 'item_id', type: 'S' },
  },
  datasetStats: {
    nameSuffix: 'dataset-stats',
    purpose: 'Per-dataset statistics for training: numeric normalisers and categorical vocabularies',
    partitionKey: { name: 'dataset', type: 'S' },
    sortKey: { name: 'stat', type: 'S' },
  },
  userVectors: {
    nameSuffix: 'user-vectors',
    purpose: 'Precomputed user vectors per model version, written by the training job, read by serving',
    partitionKey: { name: 'user_id', type: 'S' },
    sortKey: { name: 'model_version', type: 'S' },
    timeToLiveAttribute: 'expires_at',
  },
  experiments: {
    nameSuffix: 'experiments',
    purpose:
      'A/B experiments: each definition, the registry of running ones, and per exposed user the variant and outcomes',
    partitionKey: { name: 'experiment_id', type: 'S' },
    sortKey: { name: 'entry', type: 'S' },
  },
  attribution: {
    nameSuffix: 'attribution',
    purpose:
      'Attribution counters per day, shard and served context (surface, strategy, filter, promotion, variant), and duplicate markers of attributed events',
    partitionKey: { name: 'bucket', type: 'S' },
    sortKey: { name: 'context', type: 'S' },
    timeToLiveAttribute: 'expires_at',
  },
  filters: {
    nameSuffix: 'filters',
    purpose: 'Named recommendation filters (expression language), managed through /v1/filters',
    partitionKey: { name: 'filter_name', type: 'S' },
  },
  ledger: {
    nameSuffix: 'ledger',
    purpose: 'Idempotency and job ledger: processed object versions, chunk progress, run records',
    partitionKey: { name: 'pk', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
    timeToLiveAttribute: 'expires_at',
  },
} as const satisfies Record<string, TableDefinition>;

export type TableKey = keyof typeof TABLES;
export const TABLE_KEYS = Object.keys(TABLES) as TableKey[];

/** Default name prefix for local mode and the default CDK stage. */
export const DEFAULT_NAME_PREFIX = 'mappa';

/** Physical table name for a table definition under a name prefix. */
export function tableName(namePrefix: string, table: TableKey): string {
  return `${namePrefix}-${TABLES[table].nameSuffix}`;
}

/** Bucket name used by the local stack (in AWS, CloudFormation generates a unique one). */
export function localBucketName(namePrefix: string): string {
  return `${namePrefix}-data`;
}

/** All attribute definitions a table needs (keys of the table and of its indexes, deduplicated). */
export function attributeDefinitions(definition: TableDefinition): KeyAttribute[] {
  const all: KeyAttribute[] = [definition.partitionKey];
  if (definition.sortKey) all.push(definition.sortKey);
  for (const index of definition.globalSecondaryIndexes ?? []) {
    all.push(index.partitionKey);
    if (index.sortKey) all.push(index.sortKey);
  }
  const byName = new Map(all.map((attribute) => [attribute.name, attribute]));
  return [...byName.values()];
}
