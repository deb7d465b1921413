import type { EntityAttribute, EntityRow, InteractionRow } from '../data/records';

/**
 * Pure feature aggregation for the DynamoDB feature store. Every merge is a
 * function of (stored record, rows of one chunk) and stamps the chunk's token
 * into `applied`, so the repository can make each chunk apply exactly once.
 */

/** How many recent interactions a user record keeps (exclude-seen, sequence models). */
export const RECENT_INTERACTIONS = 50;
/** How many fingerprints a user record keeps for cross-file duplicate detection. */
export const FINGERPRINT_CAPACITY = 4_000;
/** How many applied tokens a record remembers (a chunk re-delivered later than this re-applies). */
export const APPLIED_TOKENS = 200;
/** Days of per-day counts an item keeps for "recent" popularity. */
export const DAILY_COUNT_DAYS = 60;
/** Most frequent values kept per categorical vocabulary. */
export const VOCABULARY_CAPACITY = 1_000;

export interface RecentInteraction {
  readonly item_id: string;
  readonly timestamp: number;
  readonly event_type: string;
  /** The event's value (a rating, a price), so serving can read explicit feedback under the event policy. */
  readonly event_value?: number;
}

export interface Versioned {
  /** Optimistic-locking version; 0 for a record not stored yet. */
  version: number;
  /** Tokens of the chunks already applied, oldest first. */
  applied: string[];
}

export interface UserFeatures extends Versioned {
  user_id: string;
  first_seen?: number;
  last_seen?: number;
  event_count: number;
  event_counts: Record<string, number>;
  purchase_count: number;
  /** Sum of `event_value` over purchases (RFM monetary). */
  revenue: number;
  category_counts: Record<string, number>;
  recent: RecentInteraction[];
  /** fingerprint → id of the token that added it. */
  fingerprints: Record<string, string>;
  attributes: Record<string, EntityAttribute>;
}

export interface ItemFeatures extends Versioned {
  item_id: string;
  first_seen?: number;
  last_seen?: number;
  event_count: number;
  event_counts: Record<string, number>;
  /** Interactions per UTC day (`yyyymmdd`), the last DAILY_COUNT_DAYS days before `last_seen`. */
  daily_counts: Record<string, number>;
  attributes: Record<string, EntityAttribute>;
}

export interface NumericStat extends Versioned {
  kind: 'numeric';
  count: number;
  mean: number;
  /** Sum of squared deviations (Welford), for the variance. */
  m2: number;
  min: number;
  max: number;
}

export interface VocabularyStat extends Versioned {
  kind: 'vocabulary';
  /** Total values seen, including those that fell out of the capped vocabulary. */
  total: number;
  counts: Record<string, number>;
}

export type ColumnStat = NumericStat | VocabularyStat;

export function emptyUser(userId: string): UserFeatures {
  return {
    user_id: userId,
    version: 0,
    applied: [],
    event_count: 0,
    event_counts: {},
    purchase_count: 0,
    revenue: 0,
    category_counts: {},
    recent: [],
    fingerprints: {},
    attributes: {},
  };
}

export function emptyItem(itemId: string): ItemFeatures {
  return {
    item_id: itemId,
    version: 0,
    applied: [],
    event_count: 0,
    event_counts: {},
    daily_counts: {},
    attributes: {},
  };
}

function stamp<T extends Versioned>(record: T, token: string): T {
  record.applied = [...record.applied, token].slice(-APPLIED_TOKENS);
  return record;
}

function increment(counts: Record<string, number>, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}

/** The activity fields users and items share. */
interface Activity {
  first_seen?: number;
  last_seen?: number;
  event_count: number;
  event_counts: Record<string, number>;
}

function countActivity(record: Activity, row: InteractionRow): void {
  record.first_seen = Math.min(record.first_seen ?? row.timestamp, row.timestamp);
  record.last_seen = Math.max(record.last_seen ?? row.timestamp, row.timestamp);
  record.event_count++;
  increment(record.event_counts, row.event_type);
}

/** UTC day key `yyyymmdd` of a Unix-seconds timestamp. */
export function dayKey(timestamp: number): string {
  return new Date(timestamp * 1000).toISOString().slice(0, 10).replace(/-/g, '');
}

/** Adds a chunk's (already de-duplicated) interactions of one user to its record. */
export function mergeUserInteractions(
  stored: UserFeatures,
  rows: readonly InteractionRow[],
  token: string,
  tokenShortId: string,
  fingerprintOf: (row: InteractionRow) => string,
  /** The item's categories (several for a list attribute, none when unknown). */
  categoryOf: (itemId: string) => readonly string[],
): UserFeatures {
  const next: UserFeatures = structuredClone(stored);
  for (const row of rows) {
    countActivity(next, row);
    if (row.event_type === 'purchase') {
      next.purchase_count++;
      next.revenue = roundMoney(next.revenue + (row.event_value ?? 0));
    }
    for (const category of categoryOf(row.item_id)) increment(next.category_counts, category);
    next.fingerprints[fingerprintOf(row)] = tokenShortId;
  }
  next.recent = mergeRecent(
    next.recent,
    rows.map(({ item_id, timestamp, event_type, event_value }) =>
      event_value === undefined
        ? { item_id, timestamp, event_type }
        : { item_id, timestamp, event_type, event_value },
    ),
  );
  next.fingerprints = pruneFingerprints(next.fingerprints);
  return stamp(next, token);
}

/**
 * The newest RECENT_INTERACTIONS of both lists, oldest first, each interaction
 * once: events posted to the API land in `recent` at once and again later when
 * their staged file is ingested.
 */
/** What makes two recent interactions the same event: time, type and item. */
export function recentKey(interaction: RecentInteraction): string {
  return `${interaction.timestamp}|${interaction.event_type}|${interaction.item_id}`;
}

export function mergeRecent(
  stored: readonly RecentInteraction[],
  added: readonly RecentInteraction[],
): RecentInteraction[] {
  const byKey = new Map<string, RecentInteraction>();
  for (const interaction of [...stored, ...added]) byKey.set(recentKey(interaction), interaction);
  return [...byKey.values()].sort((a, b) => a.timestamp - b.timestamp).slice(-RECENT_INTERACTIONS);
}

/** Keeps the newest FINGERPRINT_CAPACITY fingerprints (they start with the base-36 timestamp). */
function pruneFingerprints(fingerprints: Record<string, string>): Record<string, string> {
  const keys = Object.keys(fingerprints);
  if (keys.length <= FINGERPRINT_CAPACITY) return fingerprints;
  const byTime = keys.sort((a, b) => parseInt(a, 36) - parseInt(b, 36)).slice(-FINGERPRINT_CAPACITY);
  return Object.fromEntries(byTime.map((key) => [key, fingerprints[key] as string]));
}

/** Adds a chunk's accepted interactions of one item to its record. */
export function mergeItemInteractions(
  stored: ItemFeatures,
  rows: readonly InteractionRow[],
  token: string,
): ItemFeatures {
  const next: ItemFeatures = structuredClone(stored);
  for (const row of rows) {
    countActivity(next, row);
    increment(next.daily_counts, dayKey(row.timestamp));
  }
  if (next.last_seen !== undefined) {
    const oldest = dayKey(next.last_seen - (DAILY_COUNT_DAYS - 1) * 86_400);
    for (const day of Object.keys(next.daily_counts)) if (day < oldest) delete next.daily_counts[day];
  }
  return stamp(next, token);
}

/** Interactions of an item in the `days` days up to and including `asOf` (Unix seconds). */
export function recentPopularity(item: ItemFeatures, asOf: number, days: number): number {
  const from = dayKey(asOf - (days - 1) * 86_400);
  const to = dayKey(asOf);
  let sum = 0;
  for (const [day, count] of Object.entries(item.daily_counts)) if (day >= from && day <= to) sum += count;
  return sum;
}

/** Applies a chunk's attribute rows (users or items dataset) to a record: the row replaces stored attributes. */
export function mergeAttributes<T extends UserFeatures | ItemFeatures>(
  stored: T,
  row: EntityRow,
  token: string,
): T {
  const next = structuredClone(stored);
  next.attributes = { ...row.attributes };
  return stamp(next, token);
}

/** Adds numeric values to a running mean/variance/min/max (Chan et al.'s parallel merge). */
export function mergeNumeric(
  stored: NumericStat | undefined,
  values: readonly number[],
  token: string,
): NumericStat {
  const next: NumericStat = stored
    ? structuredClone(stored)
    : {
        kind: 'numeric',
        version: 0,
        applied: [],
        count: 0,
        mean: 0,
        m2: 0,
        min: Number.POSITIVE_INFINITY,
        max: Number.NEGATIVE_INFINITY,
      };
  if (values.length > 0) {
    let batchMean = 0;
    for (const value of values) batchMean += value;
    batchMean /= values.length;
    let batchM2 = 0;
    for (const value of values) batchM2 += (value - batchMean) ** 2;
    const count = next.count + values.length;
    const delta = batchMean - next.mean;
    next.m2 = next.m2 + batchM2 + (delta * delta * next.count * values.length) / count;
    next.mean = next.mean + (delta * values.length) / count;
    next.count = count;
    next.min = Math.min(next.min, ...values);
    next.max = Math.max(next.max, ...values);
  }
  return stamp(next, token);
}

/** Adds categorical values to a vocabulary, keeping the VOCABULARY_CAPACITY most frequent. */
export function mergeVocabulary(
  stored: VocabularyStat | undefined,
  values: readonly string[],
  token: string,
): VocabularyStat {
  const next: VocabularyStat = stored
    ? structuredClone(stored)
    : { kind: 'vocabulary', version: 0, applied: [], total: 0, counts: {} };
  for (const value of values) increment(next.counts, value);
  next.total += values.length;
  const entries = Object.entries(next.counts);
  if (entries.length > VOCABULARY_CAPACITY) {
    next.counts = Object.fromEntries(
      entries.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, VOCABULARY_CAPACITY),
    );
  }
  return stamp(next, token);
}

/** Two partial statistics of one column as one (shards of the dataset-stats table). */
export function mergeColumnStats(a: ColumnStat, b: ColumnStat): ColumnStat {
  const applied = [...a.applied, ...b.applied];
  const version = Math.max(a.version, b.version);
  if (a.kind === 'numeric' && b.kind === 'numeric') {
    const count = a.count + b.count;
    if (count === 0) return { ...a, applied, version };
    const delta = b.mean - a.mean;
    return {
      kind: 'numeric',
      version,
      applied,
      count,
      mean: a.mean + (delta * b.count) / count,
      m2: a.m2 + b.m2 + (delta * delta * a.count * b.count) / count,
      min: Math.min(a.min, b.min),
      max: Math.max(a.max, b.max),
    };
  }
  if (a.kind === 'vocabulary' && b.kind === 'vocabulary') {
    const counts = { ...a.counts };
    for (const [value, n] of Object.entries(b.counts)) counts[value] = (counts[value] ?? 0) + n;
    const entries = Object.entries(counts);
    return {
      kind: 'vocabulary',
      version,
      applied,
      total: a.total + b.total,
      counts:
        entries.length > VOCABULARY_CAPACITY
          ? Object.fromEntries(
              entries.sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0])).slice(0, VOCABULARY_CAPACITY),
            )
          : counts,
    };
  }
  throw new Error(`cannot merge a ${a.kind} statistic with a ${b.kind} one`);
}

/** Standard deviation from a numeric stat (population), 0 when fewer than two values. */
export function standardDeviation(stat: NumericStat): number {
  return stat.count > 1 ? Math.sqrt(stat.m2 / stat.count) : 0;
}

/** The `n` most frequent categories of a user. */
export function topCategories(user: UserFeatures, n = 3): string[] {
  return Object.entries(user.category_counts)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, n)
    .map(([category]) => category);
}

function roundMoney(value: number): number {
  return Math.round(value * 100) / 100;
}
