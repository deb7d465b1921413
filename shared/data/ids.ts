/**
 * The one rule set for user and item ids, applied by ingestion (row by row) and by the API (path and body), so
 * an id the API accepts is never rejected later when its staged events are ingested, and the other way round.
 * DynamoDB allows 2,048-byte partition keys; 256 characters (≤ 1,024 bytes of UTF-8) leaves room for the
 * composite keys built from ids.
 */
export const MAX_ID_LENGTH = 256;

/** Longest event type (API and ingestion): types become attribute names in the feature store's counters. */
export const MAX_EVENT_TYPE_LENGTH = 64;

/** Bytes of JSON a user's or item's attributes may take (DynamoDB's item limit is 400 KB for the whole record). */
export const MAX_ATTRIBUTES_BYTES = 64 * 1024;

// NUL and other C0 controls, DEL, and U+FFFD (what invalid UTF-8 or Latin-1 bytes decode to).
const FORBIDDEN_IN_ID = /[\u0000-\u001f\u007f\ufffd]/;

export type IdProblem = 'empty_id' | 'id_too_long' | 'invalid_id';

/** What is wrong with an id (already trimmed), or undefined. */
export function idProblem(id: string): { reason: IdProblem; message: string } | undefined {
  if (id === '') return { reason: 'empty_id', message: 'is empty' };
  if (id.length > MAX_ID_LENGTH)
    return {
      reason: 'id_too_long',
      message: `is ${id.length} characters long; ids are at most ${MAX_ID_LENGTH}`,
    };
  if (FORBIDDEN_IN_ID.test(id))
    return {
      reason: 'invalid_id',
      message: 'contains a control character or U+FFFD (bytes that are not valid UTF-8)',
    };
  return undefined;
}
