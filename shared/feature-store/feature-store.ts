import { createHash } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  type ColumnStat,
  emptyItem,
  emptyUser,
  type ItemFeatures,
  mergeColumnStats,
  type UserFeatures,
} from './features';
import type { TableKey } from '../resources/definitions';
import { VersionedTable } from './versioned-table';

/** Physical names of the tables the feature store and ingestion use. */
export type FeatureStoreTables = Pick<
  Record<TableKey, string>,
  'users' | 'items' | 'datasetStats' | 'ledger'
>;

/** The feature store's three versioned tables (users, items, dataset statistics). */
export interface FeatureStore {
  readonly users: VersionedTable<UserFeatures>;
  readonly items: VersionedTable<ItemFeatures>;
  /** Keyed `<dataset>#<kind>:<column>`, e.g. `interactions#numeric:event_value`. */
  readonly stats: VersionedTable<ColumnStat>;
}

export function statKey(dataset: string, kind: ColumnStat['kind'], column: string): string {
  return `${dataset}#${kind}:${column}`;
}

/**
 * Partial statistics per column: each chunk's token picks one of STAT_SHARDS items, so files ingested at
 * once update different items instead of racing for one per dataset (optimistic-lock conflicts) — and a
 * retried chunk lands on the same shard, where its token marks it applied. `readColumnStat` merges them.
 */
export const STAT_SHARDS = 8;

export function statShardKey(key: string, token: string, shards = STAT_SHARDS): string {
  const shard = createHash('sha256').update(token).digest().readUInt32BE(0) % shards;
  return `${key}#s${shard}`;
}

/** A column's statistics: its shards merged (Chan et al.'s parallel mean/variance; vocabulary counts summed). */
export async function readColumnStat(store: FeatureStore, key: string): Promise<ColumnStat | undefined> {
  const shards = Array.from({ length: STAT_SHARDS }, (_, shard) => `${key}#s${shard}`);
  const parts = [...(await store.stats.getMany(shards)).values()];
  return parts.length === 0 ? undefined : parts.reduce(mergeColumnStats);
}

/** Opens the feature store over the given client and physical table names. */
export function openFeatureStore(client: DynamoDBClient, tables: FeatureStoreTables): FeatureStore {
  return {
    users: new VersionedTable<UserFeatures>({
      client,
      tableName: tables.users,
      keyAttributes: (key) => ({ user_id: key }),
      logicalKey: (item) => String(item.user_id),
      // Stored records are ones this module wrote; defaults fill fields added later.
      decode: (item) => ({ ...emptyUser(String(item.user_id)), ...(item as Partial<UserFeatures>) }),
    }),
    items: new VersionedTable<ItemFeatures>({
      client,
      tableName: tables.items,
      keyAttributes: (key) => ({ item_id: key }),
      logicalKey: (item) => String(item.item_id),
      decode: (item) => ({ ...emptyItem(String(item.item_id)), ...(item as Partial<ItemFeatures>) }),
    }),
    stats: new VersionedTable<ColumnStat>({
      client,
      tableName: tables.datasetStats,
      keyAttributes: (key) => {
        const separator = key.indexOf('#');
        return { dataset: key.slice(0, separator), stat: key.slice(separator + 1) };
      },
      logicalKey: (item) => `${String(item.dataset)}#${String(item.stat)}`,
      decode: (item) => item as unknown as ColumnStat,
    }),
  };
}
