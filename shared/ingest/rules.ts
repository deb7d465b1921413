import type { Dataset } from '../resources/definitions';

/** Why a row was quarantined; machine-readable, stable across releases. */
export type RowRejectReason =
  | 'field_count_mismatch'
  | 'unterminated_quote'
  | 'record_too_long'
  | 'malformed_json'
  | 'missing_required_field'
  | 'empty_id'
  | 'id_too_long'
  | 'invalid_id'
  | 'invalid_event_type'
  | 'value_too_large'
  | 'invalid_timestamp'
  | 'timestamp_in_future'
  | 'timestamp_too_old'
  | 'invalid_number'
  | 'out_of_bounds'
  | 'invalid_encoding'
  /** The row's user asked to be forgotten (DELETE /v1/users/{userId}): counted, its content not kept. */
  | 'user_forgotten';

/** Why a whole file was quarantined. */
export type FileRejectReason =
  | 'binary_content'
  | 'invalid_encoding'
  | 'empty_file'
  | 'missing_required_columns'
  | 'invalid_mapping'
  | 'duplicate_columns'
  | 'truncated_gzip'
  | 'corrupt_gzip';

/** Columns each dataset must have. */
export const REQUIRED_COLUMNS: Record<Dataset, readonly string[]> = {
  interactions: ['user_id', 'item_id', 'timestamp'],
  users: ['user_id'],
  items: ['item_id'],
};

/** The id column of each dataset. */
export const ID_COLUMNS: Record<Dataset, readonly string[]> = {
  interactions: ['user_id', 'item_id'],
  users: ['user_id'],
  items: ['item_id'],
};

/** Columns that must be numeric when present. */
export const NUMERIC_COLUMNS: Record<Dataset, readonly string[]> = {
  interactions: ['event_value'],
  users: [],
  items: ['price'],
};

/** Default numeric bounds; a mapping may override them per column. */
export const DEFAULT_BOUNDS: Record<string, { min?: number; max?: number }> = {
  event_value: { min: 0, max: 10_000_000 },
  price: { min: 0, max: 10_000_000 },
};

/** Earliest plausible event time: 1990-01-01T00:00:00Z. */
export const EARLIEST_TIMESTAMP = 631_152_000;
/** Allowed clock skew for events slightly in the future, in seconds. */
export const FUTURE_SKEW_SECONDS = 86_400;
/** Event type given to interactions whose file has no `event_type` column. */
export const DEFAULT_EVENT_TYPE = 'interaction';
