/**
 * Names of the environment variables shared between `infra/` (which sets them on
 * Lambda functions and Fargate tasks) and `functions/` (which reads them).
 * One module so the two sides cannot drift apart.
 */
export const ENV = {
  /** Name of the data-lake bucket (incoming/, curated/, rejected/, reports/, models/, exports/). */
  dataBucket: 'MAPPA_DATA_BUCKET',
  /** DynamoDB table: per-user features (RFM, counts, recent interactions). */
  usersTable: 'MAPPA_USERS_TABLE',
  /** DynamoDB table: per-item features (popularity, attributes). */
  itemsTable: 'MAPPA_ITEMS_TABLE',
  /** DynamoDB table: per-dataset statistics (normalisers, vocabularies). */
  datasetStatsTable: 'MAPPA_DATASET_STATS_TABLE',
  /** DynamoDB table: precomputed user vectors per model version. */
  userVectorsTable: 'MAPPA_USER_VECTORS_TABLE',
  /** DynamoDB table: A/B experiment definitions, assignments and outcomes. */
  experimentsTable: 'MAPPA_EXPERIMENTS_TABLE',
  /** DynamoDB table: attribution counters of served lists and their outcomes. */
  attributionTable: 'MAPPA_ATTRIBUTION_TABLE',
  /** DynamoDB table: named recommendation filters. */
  filtersTable: 'MAPPA_FILTERS_TABLE',
  /** Kinesis Data Firehose stream carrying `POST /v1/events` into the drop folder. */
  eventsStream: 'MAPPA_EVENTS_STREAM',
  /** DynamoDB table: idempotency and job ledger (processed objects, chunk progress). */
  ledgerTable: 'MAPPA_LEDGER_TABLE',
  /** Training hyper-parameter overrides as JSON (see shared/training/overrides.ts). */
  trainingConfig: 'MAPPA_TRAINING_CONFIG',
  /** Minutes a training run may take before it stops and fails (serving keeps its model). */
  trainingMaxMinutes: 'MAPPA_TRAINING_MAX_MINUTES',
  /** Forces a TF.js backend (`tensorflow`, `wasm` or `cpu`) instead of the automatic choice. */
  tfBackend: 'MAPPA_TF_BACKEND',
  /** Seconds between serving's checks of `models/manifest.json` for a newly promoted model. */
  modelRecheckSeconds: 'MAPPA_MODEL_RECHECK_SECONDS',
  /** Comma-separated event types whose items recommendations exclude as seen (`*` = all). */
  excludeSeenEventTypes: 'MAPPA_EXCLUDE_SEEN_EVENT_TYPES',
  /** Default share (0-1) of a recommendation list offered to items added since training. */
  explorationWeight: 'MAPPA_EXPLORATION_WEIGHT',
  /** Items listed at most this many days ago count as new for exploration (1-30). */
  explorationItemAgeCutoffDays: 'MAPPA_EXPLORATION_ITEM_AGE_CUTOFF_DAYS',
  /** Comma-separated origins allowed by CORS (`*` wildcards allowed; unset = no CORS headers). */
  corsOrigins: 'MAPPA_CORS_ORIGINS',
  /** Log level of the Powertools logger (`DEBUG`, `INFO`, `WARN`, `ERROR`); Powertools' own variable. */
  logLevel: 'POWERTOOLS_LOG_LEVEL',
} as const;

export type EnvName = (typeof ENV)[keyof typeof ENV];
