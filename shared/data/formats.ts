/**
 * Mappa's canonical data formats, modelled on Amazon Personalize's dataset
 * schemas so exports built for Personalize load unchanged. See docs/data-formats.md.
 */

/** Interactions: one row per event. `timestamp` is Unix seconds. */
export const INTERACTIONS_COLUMNS = ['user_id', 'item_id', 'timestamp', 'event_type', 'event_value'] as const;
export const INTERACTIONS_REQUIRED = ['user_id', 'item_id', 'timestamp'] as const;

/** Users: `user_id` plus any attributes (the synthetic generator writes these). */
export const USERS_COLUMNS = ['user_id', 'age', 'region', 'loyalty_tier', 'signup_timestamp'] as const;

/** Items: `item_id` plus any attributes; `category` and `price` are used by serving filters. */
export const ITEMS_COLUMNS = ['item_id', 'category', 'price', 'brand'] as const;

/** Campaign exposures and their outcome (the propensity and experiment examples use these). */
export const CAMPAIGN_COLUMNS = [
  'campaign_id',
  'user_id',
  'timestamp',
  'channel',
  'converted',
  'revenue',
] as const;

/** Event types with built-in meaning; others are accepted and counted. */
export const KNOWN_EVENT_TYPES = ['view', 'add_to_cart', 'purchase'] as const;
export type KnownEventType = (typeof KNOWN_EVENT_TYPES)[number];

/** Quotes a CSV field per RFC 4180 when it needs it. */
export function csvField(value: string | number): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One CSV line (no trailing newline) from field values. */
export function csvLine(values: readonly (string | number)[]): string {
  return values.map(csvField).join(',');
}
