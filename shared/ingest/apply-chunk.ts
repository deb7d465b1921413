import type { FeatureStore } from '../feature-store/feature-store';
import { STAT_SHARDS, statKey, statShardKey } from '../feature-store/feature-store';
import type { Dataset } from '../resources/definitions';
import {
  type ColumnStat,
  emptyItem,
  emptyUser,
  type ItemFeatures,
  mergeAttributes,
  mergeItemInteractions,
  mergeNumeric,
  mergeUserInteractions,
  mergeVocabulary,
  type UserFeatures,
} from '../feature-store/features';
import { interactionFingerprint, tokenId } from './fingerprint';
import { attributeValues } from '../data/list-values';
import type { EntityAttribute, EntityRow, InteractionRow } from '../data/records';

/**
 * Applies one chunk of validated rows to the feature store exactly once and
 * decides which rows are duplicates. The decision for a row depends only on the
 * stored fingerprints of *other* chunks, so a retried chunk decides the same way.
 */
export interface ChunkOutcome<Row> {
  /** Rows that are new: they go to the curated output. */
  readonly accepted: Row[];
  /** Exact duplicates within the chunk or of rows ingested earlier. */
  readonly duplicates: number;
}

function fingerprintOf(row: InteractionRow): string {
  return interactionFingerprint(row.item_id, row.timestamp, row.event_type);
}

function groupBy<Row>(rows: readonly Row[], keyOf: (row: Row) => string): Map<string, Row[]> {
  const groups = new Map<string, Row[]>();
  for (const row of rows) {
    const key = keyOf(row);
    const group = groups.get(key);
    if (group) group.push(row);
    else groups.set(key, [row]);
  }
  return groups;
}

/** The rows of one user that are neither repeated in the chunk nor already stored by another chunk. */
function newRowsOf(
  rows: readonly InteractionRow[],
  stored: UserFeatures | undefined,
  ownTokenId: string,
): InteractionRow[] {
  const seen = new Set<string>();
  const fresh: InteractionRow[] = [];
  for (const row of rows) {
    const fingerprint = fingerprintOf(row);
    if (seen.has(fingerprint)) continue;
    seen.add(fingerprint);
    const owner = stored?.fingerprints[fingerprint];
    if (owner !== undefined && owner !== ownTokenId) continue;
    fresh.push(row);
  }
  return fresh;
}

export async function applyInteractionsChunk(
  store: FeatureStore,
  rows: readonly InteractionRow[],
  token: string,
  statShards = STAT_SHARDS,
): Promise<ChunkOutcome<InteractionRow>> {
  const ownTokenId = tokenId(token);
  const byUser = groupBy(rows, (row) => row.user_id);
  const itemIds = [...new Set(rows.map((row) => row.item_id))];
  const knownItems = await store.items.getMany(itemIds);
  const categoryOf = (itemId: string) => attributeValues(knownItems.get(itemId)?.attributes.category);

  const acceptedByUser = new Map<string, InteractionRow[]>();
  await store.users.updateEach([...byUser.keys()], (userId, stored) => {
    const fresh = newRowsOf(byUser.get(userId) ?? [], stored, ownTokenId);
    acceptedByUser.set(userId, fresh);
    if (stored?.applied.includes(token) || fresh.length === 0) return undefined;
    return mergeUserInteractions(
      stored ?? emptyUser(userId),
      fresh,
      token,
      ownTokenId,
      fingerprintOf,
      categoryOf,
    );
  });
  // Keep the file's row order in the curated output.
  const acceptedSet = new Set([...acceptedByUser.values()].flat());
  const accepted = rows.filter((row) => acceptedSet.has(row));

  const byItem = groupBy(accepted, (row) => row.item_id);
  await store.items.updateEach(
    [...byItem.keys()],
    (itemId, stored) =>
      stored?.applied.includes(token)
        ? undefined
        : mergeItemInteractions(stored ?? emptyItem(itemId), byItem.get(itemId) ?? [], token),
    knownItems,
  );

  const values = accepted.flatMap((row) => (row.event_value === undefined ? [] : [row.event_value]));
  await applyStats(store, token, statShards, [
    {
      key: statKey('interactions', 'vocabulary', 'event_type'),
      values: accepted.map((row) => row.event_type),
    },
    ...(values.length > 0 ? [{ key: statKey('interactions', 'numeric', 'event_value'), values }] : []),
  ]);
  return { accepted, duplicates: rows.length - accepted.length };
}

export async function applyEntityChunk(
  store: FeatureStore,
  dataset: Exclude<Dataset, 'interactions'>,
  rows: readonly EntityRow[],
  token: string,
  statShards = STAT_SHARDS,
): Promise<ChunkOutcome<EntityRow>> {
  // Within the chunk the last row of an id wins; a row identical to the id's previous row is a duplicate.
  const lastById = new Map<string, EntityRow>();
  const duplicateRows = new Set<EntityRow>();
  for (const row of rows) {
    const previous = lastById.get(row.id);
    if (previous && sameAttributes(previous.attributes, row.attributes)) duplicateRows.add(row);
    else lastById.set(row.id, row);
  }
  const table = (dataset === 'users' ? store.users : store.items) as typeof store.users | typeof store.items;
  const unchanged = new Set<string>();
  const update = (id: string, stored: UserFeatures | ItemFeatures | undefined) => {
    const row = lastById.get(id) as EntityRow;
    unchanged.delete(id);
    if (stored?.applied.includes(token)) return undefined;
    if (stored && sameAttributes(stored.attributes, row.attributes)) {
      unchanged.add(id); // ingested before with identical attributes
      return undefined;
    }
    const base = stored ?? (dataset === 'users' ? emptyUser(id) : emptyItem(id));
    return mergeAttributes(base, row, token);
  };
  await (table.updateEach as (keys: string[], fn: typeof update) => Promise<void>)(
    [...lastById.keys()],
    update,
  );
  for (const id of unchanged) duplicateRows.add(lastById.get(id) as EntityRow);
  const accepted = rows.filter((row) => !duplicateRows.has(row));

  const numeric = new Map<string, number[]>();
  const categorical = new Map<string, string[]>();
  for (const row of accepted) {
    for (const [column, value] of Object.entries(row.attributes)) {
      if (typeof value === 'number') {
        const values = numeric.get(column) ?? [];
        values.push(value);
        numeric.set(column, values);
      } else {
        // A list column's vocabulary counts each value ("Comedy" in "Comedy|Drama").
        const values = categorical.get(column) ?? [];
        for (const text of attributeValues(value)) values.push(text);
        categorical.set(column, values);
      }
    }
  }
  await applyStats(store, token, statShards, [
    ...[...numeric].map(([column, values]) => ({ key: statKey(dataset, 'numeric', column), values })),
    ...[...categorical].map(([column, values]) => ({ key: statKey(dataset, 'vocabulary', column), values })),
  ]);
  return { accepted, duplicates: duplicateRows.size };
}

async function applyStats(
  store: FeatureStore,
  token: string,
  shards: number,
  updates: readonly { key: string; values: readonly (string | number)[] }[],
): Promise<void> {
  // Each chunk writes its own shard of every column's statistics (see statShardKey).
  const byKey = new Map(
    updates
      .filter((update) => update.values.length > 0)
      .map((update) => [statShardKey(update.key, token, shards), update.values]),
  );
  await store.stats.updateEach([...byKey.keys()], (key, stored) => {
    if (stored?.applied.includes(token)) return undefined;
    const values = byKey.get(key) ?? [];
    const merged: ColumnStat = key.includes('#numeric:')
      ? mergeNumeric(stored?.kind === 'numeric' ? stored : undefined, values as number[], token)
      : mergeVocabulary(stored?.kind === 'vocabulary' ? stored : undefined, values.map(String), token);
    return { ...merged, version: stored?.version ?? 0 };
  });
}

function sameAttributes(a: Record<string, EntityAttribute>, b: Record<string, EntityAttribute>): boolean {
  const keysA = Object.keys(a);
  if (keysA.length !== Object.keys(b).length) return false;
  return keysA.every((key) => JSON.stringify(a[key]) === JSON.stringify(b[key]));
}
