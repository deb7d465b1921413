/**
 * Compact fingerprints for exact-duplicate detection and short ids for source
 * tokens. FNV-1a (32-bit) is enough: a fingerprint is only compared within one
 * user's events at the same second.
 */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Fingerprint of an interaction within its user's history: same item, time and event type. */
export function interactionFingerprint(itemId: string, timestamp: number, eventType: string): string {
  return `${timestamp.toString(36)}.${fnv1a(`${itemId}\u0001${eventType}`).toString(36)}`;
}

/** A short stable id for a source token (object version + chunk), stored next to fingerprints. */
export function tokenId(token: string): string {
  return fnv1a(token).toString(36);
}
