import * as z from '../data/schema';
import { eventPolicySchema } from '../data/event-policy';
import type { Dataset } from '../resources/definitions';
import { DEFAULT_MAX_RECORD_BYTES } from './records';

/**
 * How to read one export: a `_mapping.json` placed in the dataset's drop folder
 * (or passed with `mappa ingest --mapping`). Everything is optional; without a
 * mapping, files are read as canonical CSV/JSONL with the delimiter detected.
 *
 * MovieLens `u.data` (tab-separated, no header: user item rating timestamp):
 * `{ "delimiter": "\t", "header": ["user_id","item_id","event_value","timestamp"],
 *    "constants": { "event_type": "rating" } }`
 */
export const mappingSchema = z.strictObject({
  /** File format; by default taken from the extension (`.jsonl`/`.ndjson` → jsonl, else csv). */
  format: z.optional(z.enum(['csv', 'jsonl'])),
  /** CSV delimiter; by default detected from the first line among `,` `;` tab. */
  delimiter: z.optional(z.enum([',', ';', '\t', 'tab'])),
  /** Column names for a header-less CSV; when given, the first line is data. */
  header: z.optional(z.array(z.string().check(z.minLength(1))).check(z.minLength(1))),
  /** Renames: source column name → canonical name (e.g. `"customerId": "user_id"`). */
  columns: z._default(z.record(z.string(), z.string().check(z.minLength(1))), {}),
  /** How `timestamp` is written. `auto`: digits ≥ 12 long are milliseconds, other digits seconds, else ISO-8601. */
  timestampFormat: z._default(z.enum(['auto', 'unix_seconds', 'unix_millis', 'iso8601']), 'auto'),
  /** Values for columns the file lacks (e.g. `"event_type": "rating"`). */
  constants: z._default(z.record(z.string(), z.string()), {}),
  /** Numeric bounds per canonical column, merged over the defaults. */
  bounds: z._default(
    z.record(z.string(), z.strictObject({ min: z.optional(z.number()), max: z.optional(z.number()) })),
    {},
  ),
  /** Longest record (bytes) a row may be; a longer one is rejected as `record_too_long`. @default 1 MiB */
  maxRecordBytes: z._default(
    z.int().check(z.minimum(1024), z.maximum(64 * 1024 * 1024)),
    DEFAULT_MAX_RECORD_BYTES,
  ),
  /**
   * Interactions only, in `incoming/interactions/_mapping.json`: what each event type means for learning
   * (weights, value thresholds, negative types). See docs/data-formats.md.
   */
  events: z.optional(eventPolicySchema),
  /**
   * Users and items: columns holding several values and their separator (`"genres": "|"`), stored as lists;
   * filters match any value, the item tower embeds each.
   */
  lists: z._default(
    z.record(
      z.string().check(z.minLength(1)),
      z.string().check(
        z.minLength(1),
        z.maxLength(8),
        z.refine((separator) => separator.trim() !== '', 'must not be blank'),
      ),
    ),
    {},
  ),
});

export type Mapping = z.output<typeof mappingSchema>;

/** Name of the mapping file in a drop folder. */
export const MAPPING_FILE_NAME = '_mapping.json';

/** Parses mapping JSON text, with an error naming the offending field. */
export function parseMapping(text: string): Mapping {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`mapping is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const parsed = mappingSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`mapping field '${issue?.path.join('.') || '(root)'}' ${issue?.message ?? 'is invalid'}`);
  }
  return parsed.data;
}

/**
 * Fields that make sense only for some mappings: `events` belongs to the interactions dataset's root mapping
 * (the one the training job reads), `lists` to users and items. A message naming the field, or undefined.
 */
export function misplacedMappingField(
  mapping: Mapping,
  dataset: Dataset,
  atDatasetRoot: boolean,
): string | undefined {
  if (mapping.events && dataset !== 'interactions')
    return `mapping field 'events' applies to interactions only (incoming/interactions/${MAPPING_FILE_NAME})`;
  if (mapping.events && !atDatasetRoot)
    return `mapping field 'events' belongs in incoming/interactions/${MAPPING_FILE_NAME} (one policy for all interactions), not in a subfolder's mapping`;
  if (Object.keys(mapping.lists).length > 0 && dataset === 'interactions')
    return "mapping field 'lists' applies to users and items only";
  return undefined;
}

export const DEFAULT_MAPPING: Mapping = mappingSchema.parse({});

/**
 * What the API's events are (`incoming/interactions/api-events/`, written by Firehose): JSON Lines in the
 * canonical columns. Built in rather than read from a `_mapping.json` there, so a mapping for other exports
 * higher up (a header-less MovieLens layout, say) never applies to them and nothing has to write one.
 */
export const API_EVENTS_MAPPING: Mapping = mappingSchema.parse({ format: 'jsonl' });

/** The delimiter byte for a mapping value. */
export function delimiterByte(delimiter: NonNullable<Mapping['delimiter']>): number {
  return delimiter === 'tab' || delimiter === '\t' ? 0x09 : delimiter.charCodeAt(0);
}

/** Picks the delimiter that splits the header line into the most fields (`,` on ties). */
export function detectDelimiter(firstLine: string): number {
  const candidates = [',', ';', '\t'];
  let best = ',';
  let bestCount = 0;
  for (const candidate of candidates) {
    const count = firstLine.split(candidate).length - 1;
    if (count > bestCount) {
      best = candidate;
      bestCount = count;
    }
  }
  return best.charCodeAt(0);
}
