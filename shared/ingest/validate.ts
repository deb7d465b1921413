import { KNOWN_EVENT_TYPES } from '../data/formats';
import { idProblem, MAX_ATTRIBUTES_BYTES, MAX_EVENT_TYPE_LENGTH } from '../data/ids';
import type { Dataset } from '../resources/definitions';
import type { EntityAttribute, EntityRow, InteractionRow } from '../data/records';
import type { Mapping } from './mapping';
import type { SourceRecord } from './records';
import {
  DEFAULT_BOUNDS,
  DEFAULT_EVENT_TYPE,
  EARLIEST_TIMESTAMP,
  FUTURE_SKEW_SECONDS,
  ID_COLUMNS,
  NUMERIC_COLUMNS,
  REQUIRED_COLUMNS,
  type RowRejectReason,
} from './rules';

/** A list column's values: split on the separator, trimmed, empty and repeated values left out. */
export function splitListValue(text: string, separator: string): string[] {
  return [...new Set(text.split(separator).map((value) => value.trim()))].filter((value) => value !== '');
}

export type CleanRow =
  { dataset: 'interactions'; row: InteractionRow } | { dataset: 'users' | 'items'; row: EntityRow };

export interface Rejection {
  readonly reason: RowRejectReason;
  readonly message: string;
}

export type ValidationResult =
  { ok: true; clean: CleanRow; unknownEventType: boolean } | { ok: false; rejection: Rejection };

/** `USER_ID`, `User Id`, ` user-id ` → `user_id`. */
export function normaliseColumnName(name: string): string {
  return name
    .replace(/^\uFEFF/, '')
    .trim()
    .replace(/[\s-]+/g, '_')
    .toLowerCase();
}

/** Canonical column names for a source header, applying the mapping's renames. */
export function canonicalHeader(sourceHeader: readonly string[], mapping: Mapping): string[] {
  return sourceHeader.map((name) => {
    const trimmed = name.replace(/^\uFEFF/, '').trim();
    return (
      mapping.columns[trimmed] ??
      normaliseColumnName(mapping.columns[normaliseColumnName(trimmed)] ?? trimmed)
    );
  });
}

/** A validator for a CSV whose header row is `headerFields` (BOM and renames handled by canonicalHeader). */
export function csvValidatorForHeader(
  dataset: Dataset,
  headerFields: readonly string[],
  mapping: Mapping,
  nowSeconds = Math.floor(Date.now() / 1000),
): RowValidator {
  return new RowValidator(dataset, canonicalHeader(headerFields, mapping), mapping, 'csv', nowSeconds);
}

/** Required columns missing from a header (after renames and constants). */
export function missingRequiredColumns(
  dataset: Dataset,
  header: readonly string[],
  mapping: Mapping,
): string[] {
  const present = new Set([...header, ...Object.keys(mapping.constants)]);
  return REQUIRED_COLUMNS[dataset].filter((column) => !present.has(column));
}

/** Parses a timestamp to Unix seconds per the mapping's format; NaN when it does not parse. */
export function parseTimestamp(raw: string, format: Mapping['timestampFormat']): number {
  // Fast path for the common case, plain Unix seconds: up to 11 digits, nothing else.
  if (format !== 'iso8601' && format !== 'unix_millis' && raw.length > 0 && raw.length <= 11 && isDigits(raw))
    return Number(raw);
  const text = raw.trim();
  if (text === '') return Number.NaN;
  const numeric = /^-?\d+(\.\d+)?$/.test(text);
  if (format === 'iso8601' || (format === 'auto' && !numeric)) {
    // ISO-8601 only: a date, optionally with time and zone. Date.parse alone accepts too much.
    if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(text))
      return Number.NaN;
    return Math.floor(Date.parse(text.replace(' ', 'T')) / 1000);
  }
  if (!numeric) return Number.NaN;
  const value = Number(text);
  const millis =
    format === 'unix_millis' ||
    (format === 'auto' && (text.replace(/^-/, '').split('.')[0] ?? '').length >= 12);
  return Math.floor(millis ? value / 1000 : value);
}

function isDigits(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 48 || code > 57) return false;
  }
  return true;
}

function parseNumber(raw: string): number {
  const text = raw.trim();
  return /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) ? Number(text) : Number.NaN;
}

const KNOWN_EVENTS = new Set<string>(KNOWN_EVENT_TYPES);
/** Bound on the per-file event type table, so a file of junk types cannot grow it without limit. */
const MAX_CACHED = 100_000;

/**
 * Validates and cleans rows of one file: field count, required fields, ids,
 * timestamps (parseable and plausible), numeric fields (numeric and within
 * bounds). Built once per file; `validate` is the per-row hot path.
 */
export class RowValidator {
  private readonly bounds: Record<string, { min?: number; max?: number }>;
  private readonly latestAllowed: number;
  private readonly numericColumns: Set<string>;

  constructor(
    private readonly dataset: Dataset,
    /** Canonical column names (CSV); ignored for JSON Lines, whose keys name themselves. */
    private readonly header: readonly string[],
    private readonly mapping: Mapping,
    private readonly format: 'csv' | 'jsonl',
    nowSeconds: number,
    options: { fastPath?: boolean; forgotten?: ReadonlySet<string> } = {},
  ) {
    this.forgotten = options.forgotten ?? new Set();
    this.bounds = { ...DEFAULT_BOUNDS };
    for (const [column, bound] of Object.entries(mapping.bounds))
      this.bounds[column] = { ...DEFAULT_BOUNDS[column], ...bound };
    this.latestAllowed = nowSeconds + FUTURE_SKEW_SECONDS;
    this.numericColumns = new Set([...NUMERIC_COLUMNS[dataset], ...Object.keys(mapping.bounds)]);
    const onlyEventValueNumeric = [...this.numericColumns].every((column) => column === 'event_value');
    if (
      (options.fastPath ?? true) &&
      dataset === 'interactions' &&
      format === 'csv' &&
      onlyEventValueNumeric
    ) {
      const index = (column: string) => header.indexOf(column);
      this.csvColumns = {
        user: index('user_id'),
        item: index('item_id'),
        timestamp: index('timestamp'),
        eventType: index('event_type'),
        eventValue: index('event_value'),
      };
    }
  }

  /** Column positions for the interactions-CSV fast path (the hot path of large files). */
  private readonly csvColumns?: {
    user: number;
    item: number;
    timestamp: number;
    eventType: number;
    eventValue: number;
  };

  /** Field at a column position, else the mapping's constant (undefined when neither exists). */
  private field(fields: readonly string[], index: number, column: string): string | undefined {
    const value = index >= 0 ? fields[index] : undefined;
    return value === undefined || value === '' ? (this.mapping.constants[column] ?? value) : value;
  }

  /**
   * Same checks and result as the generic path, without building a per-row
   * column map: interactions CSV is the bulk of every large ingestion.
   */
  private interactionFromCsv(
    record: SourceRecord,
    columns: NonNullable<RowValidator['csvColumns']>,
  ): ValidationResult {
    const fields = record.fields;
    if (fields.length !== this.header.length) {
      return reject('field_count_mismatch', `expected ${this.header.length} fields, found ${fields.length}`);
    }
    const user = this.field(fields, columns.user, 'user_id');
    const item = this.field(fields, columns.item, 'item_id');
    const rawTimestamp = this.field(fields, columns.timestamp, 'timestamp');
    if (user === undefined) return reject('missing_required_field', "required field 'user_id' is missing");
    if (item === undefined) return reject('missing_required_field', "required field 'item_id' is missing");
    if (rawTimestamp === undefined)
      return reject('missing_required_field', "required field 'timestamp' is missing");
    const userId = user.trim();
    if (userId === '') return reject('empty_id', "'user_id' is empty");
    const itemId = item.trim();
    if (itemId === '') return reject('empty_id', "'item_id' is empty");
    const rawValue = this.field(fields, columns.eventValue, 'event_value');
    let eventValue: number | undefined;
    if (rawValue !== undefined && rawValue.trim() !== '') {
      const checked = this.checkNumber('event_value', rawValue);
      if (typeof checked !== 'number') return checked;
      eventValue = checked;
    }
    const eventType = this.field(fields, columns.eventType, 'event_type') ?? '';
    return this.interactionFrom(
      userId,
      itemId,
      { timestamp: rawTimestamp, event_type: eventType },
      eventValue,
    );
  }

  /** A number within bounds, or the rejection. */
  private checkNumber(column: string, raw: string): number | ValidationResult {
    const value = parseNumber(raw);
    if (Number.isNaN(value)) return reject('invalid_number', `'${column}' is not a number: '${raw}'`);
    const bound = this.bounds[column];
    if ((bound?.min !== undefined && value < bound.min) || (bound?.max !== undefined && value > bound.max)) {
      return reject(
        'out_of_bounds',
        `'${column}' = ${value} is outside [${bound?.min ?? '-inf'}, ${bound?.max ?? 'inf'}]`,
      );
    }
    return value;
  }

  /** Users who asked to be forgotten: their rows are refused whatever else is right with them. */
  private readonly forgotten: ReadonlySet<string>;

  validate(record: SourceRecord): ValidationResult {
    const result = this.validateRecord(record);
    if (!result.ok || this.forgotten.size === 0) return result;
    const clean = result.clean;
    const userId =
      clean.dataset === 'interactions'
        ? clean.row.user_id
        : clean.dataset === 'users'
          ? clean.row.id
          : undefined;
    if (userId !== undefined && this.forgotten.has(userId)) {
      return reject(
        'user_forgotten',
        'the user asked to be forgotten; the row is dropped and its content not kept',
      );
    }
    return result;
  }

  private validateRecord(record: SourceRecord): ValidationResult {
    if (record.error === 'unterminated_quote') {
      return reject(
        'unterminated_quote',
        'a quoted field opened on this line never closes (within the record size limit or before the end of the file); reading resumed on the next line',
      );
    }
    if (record.error === 'record_too_long') {
      return reject(
        'record_too_long',
        `the record is longer than the limit of ${this.mapping.maxRecordBytes} bytes (the mapping's maxRecordBytes); it was skipped to its line end`,
      );
    }
    if (record.raw.includes('\uFFFD')) return reject('invalid_encoding', 'the row is not valid UTF-8');
    if (record.raw.includes('\u0000')) return reject('invalid_encoding', 'the row contains a NUL byte');
    if (this.csvColumns) return this.interactionFromCsv(record, this.csvColumns);
    const extracted = this.format === 'csv' ? this.fromCsv(record) : this.fromJson(record);
    if ('rejection' in extracted) return { ok: false, rejection: extracted.rejection };
    const values = extracted.values;
    for (const [column, value] of Object.entries(this.mapping.constants)) {
      if (values[column] === undefined || values[column] === '') values[column] = value;
    }
    for (const column of REQUIRED_COLUMNS[this.dataset]) {
      if (values[column] === undefined)
        return reject('missing_required_field', `required field '${column}' is missing`);
    }
    for (const column of ID_COLUMNS[this.dataset]) {
      if ((values[column] ?? '').trim() === '') return reject('empty_id', `'${column}' is empty`);
    }
    const numbers: Record<string, number> = {};
    for (const column of this.numericColumns) {
      const raw = values[column];
      if (raw === undefined || raw.trim() === '') continue;
      const checked = this.checkNumber(column, raw);
      if (typeof checked !== 'number') return checked;
      numbers[column] = checked;
    }
    if (this.dataset === 'interactions') return this.interaction(values, numbers);
    return this.entity(values, numbers);
  }

  private interaction(values: Record<string, string>, numbers: Record<string, number>): ValidationResult {
    return this.interactionFrom(
      (values.user_id ?? '').trim(),
      (values.item_id ?? '').trim(),
      values,
      numbers.event_value,
    );
  }

  private interactionFrom(
    userId: string,
    itemId: string,
    values: Record<string, string>,
    eventValue: number | undefined,
  ): ValidationResult {
    for (const [column, id] of [
      ['user_id', userId],
      ['item_id', itemId],
    ] as const) {
      const problem = idProblem(id);
      if (problem) return reject(problem.reason, `'${column}' ${problem.message}`);
    }
    const rawTimestamp = values.timestamp ?? '';
    const timestamp = parseTimestamp(rawTimestamp, this.mapping.timestampFormat);
    if (!Number.isFinite(timestamp)) {
      return reject(
        'invalid_timestamp',
        `'timestamp' does not parse as ${this.mapping.timestampFormat}: '${rawTimestamp}'`,
      );
    }
    if (timestamp < EARLIEST_TIMESTAMP)
      return reject('timestamp_too_old', `'timestamp' ${timestamp} is before 1990`);
    if (timestamp > this.latestAllowed) {
      return reject('timestamp_in_future', `'timestamp' ${timestamp} is more than a day in the future`);
    }
    const eventType = this.eventTypeOf(values.event_type ?? '');
    if (eventType.length > MAX_EVENT_TYPE_LENGTH) {
      return reject(
        'invalid_event_type',
        `'event_type' is ${eventType.length} characters long; event types are at most ${MAX_EVENT_TYPE_LENGTH}`,
      );
    }
    const row: InteractionRow =
      eventValue !== undefined
        ? { user_id: userId, item_id: itemId, timestamp, event_type: eventType, event_value: eventValue }
        : { user_id: userId, item_id: itemId, timestamp, event_type: eventType };
    return {
      ok: true,
      clean: { dataset: 'interactions', row },
      unknownEventType: eventType !== DEFAULT_EVENT_TYPE && !KNOWN_EVENTS.has(eventType),
    };
  }

  /** Canonical event types by raw text: a file has a handful, so each row is a lookup, not new strings. */
  private readonly eventTypes = new Map<string, string>();

  private eventTypeOf(raw: string): string {
    let canonical = this.eventTypes.get(raw);
    if (canonical === undefined) {
      canonical = raw.trim().toLowerCase() || DEFAULT_EVENT_TYPE;
      if (this.eventTypes.size < MAX_CACHED) this.eventTypes.set(raw, canonical);
    }
    return canonical;
  }

  private entity(values: Record<string, string>, numbers: Record<string, number>): ValidationResult {
    const idColumn = this.dataset === 'users' ? 'user_id' : 'item_id';
    const attributes: Record<string, EntityAttribute> = {};
    for (const [column, raw] of Object.entries(values)) {
      if (column === idColumn) continue;
      const text = raw.trim();
      if (text === '') continue;
      const separator = this.mapping.lists[column];
      if (separator !== undefined) {
        const list = splitListValue(text, separator);
        if (list.length > 0) attributes[column] = list;
        continue;
      }
      const numeric = numbers[column] ?? parseNumber(text);
      // A number a double cannot hold exactly (an 18-digit code) stays text: every digit kept.
      attributes[column] =
        Number.isNaN(numeric) || Math.abs(numeric) > Number.MAX_SAFE_INTEGER ? text : numeric;
    }
    const id = (values[idColumn] ?? '').trim();
    const problem = idProblem(id);
    if (problem) return reject(problem.reason, `'${idColumn}' ${problem.message}`);
    const size = Buffer.byteLength(JSON.stringify(attributes));
    if (size > MAX_ATTRIBUTES_BYTES) {
      const [largest] = Object.entries(attributes)
        .map(([column, value]) => [column, Buffer.byteLength(JSON.stringify(value))] as const)
        .sort((a, b) => b[1] - a[1]);
      return reject(
        'value_too_large',
        `the row's attributes take ${size} bytes, more than the ${MAX_ATTRIBUTES_BYTES} a record may hold; the largest is '${largest?.[0]}' (${largest?.[1]} bytes)`,
      );
    }
    return {
      ok: true,
      clean: { dataset: this.dataset as 'users' | 'items', row: { id, attributes } },
      unknownEventType: false,
    };
  }

  private fromCsv(record: SourceRecord): Extracted {
    if (record.fields.length !== this.header.length) {
      return {
        rejection: {
          reason: 'field_count_mismatch',
          message: `expected ${this.header.length} fields, found ${record.fields.length}`,
        },
      };
    }
    const values: Record<string, string> = {};
    for (let index = 0; index < this.header.length; index++) {
      values[this.header[index] as string] = record.fields[index] as string;
    }
    return { values };
  }

  private fromJson(record: SourceRecord): Extracted {
    let parsed: unknown;
    try {
      parsed = JSON.parse(record.raw);
    } catch {
      return { rejection: { reason: 'malformed_json', message: 'the line is not valid JSON' } };
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return { rejection: { reason: 'malformed_json', message: 'the line is not a JSON object' } };
    }
    const values: Record<string, string> = {};
    for (const [key, value] of Object.entries(parsed)) {
      if (value === null || value === undefined) continue;
      const column = this.mapping.columns[key] ?? normaliseColumnName(key);
      values[column] = typeof value === 'object' ? JSON.stringify(value) : String(value);
    }
    return { values };
  }
}

type Extracted = { values: Record<string, string> } | { rejection: Rejection };

function reject(reason: RowRejectReason, message: string): ValidationResult {
  return { ok: false, rejection: { reason, message } };
}
