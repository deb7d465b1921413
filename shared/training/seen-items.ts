import { encodeItemSet } from '../data/item-set';
import type { InteractionLog } from '../ml/interactions';
import type { ExcludedEventTypes } from '../serving/seen-policy';
import type { FactRow } from './segment-users';

/** Event types whose items count as seen: every type, or the serving policy's (`excludeSeenEventTypes`). */
export type SeenEventTypes = ExcludedEventTypes;

/**
 * Each user's full seen-set in this model version's item indices, encoded for
 * the user-vectors table: serving excludes it (plus events since) from
 * recommendations, at any history length — the feature store's `recent` list
 * holds only the last 50 interactions.
 */
export function seenItemSets(
  log: InteractionLog,
  rows: readonly FactRow[],
  eventTypes: SeenEventTypes,
): (user: number) => Uint8Array {
  const numItems = log.itemIds.length;
  // From the rows, not the log's sequences: an item rated 1★ or dismissed is not a positive, but it is seen.
  const userIndex = new Map(log.userIds.map((userId, index) => [userId, index]));
  const itemIndex = new Map(log.itemIds.map((itemId, index) => [itemId, index]));
  const seen = log.userIds.map(() => [] as number[]);
  for (const row of rows) {
    if (eventTypes !== 'all' && !eventTypes.has(row.event_type)) continue;
    const user = userIndex.get(row.user_id);
    const item = itemIndex.get(row.item_id);
    if (user !== undefined && item !== undefined) seen[user]?.push(item);
  }
  return (user) => encodeItemSet(seen[user] ?? [], numItems);
}
