import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type ColumnStat, emptyItem, emptyUser, type ItemFeatures, type UserFeatures } from './features';
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
