import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { Versioned } from './features';
import { fromItem, toItem } from './attribute-values';
import { resendUntilProcessed, retryOnConflict } from '../aws/retry';

/**
 * Read-modify-write with optimistic locking over one DynamoDB table.
 *
 * Why not transactions or `ADD` updates: aggregates such as "last 50
 * interactions" or "top categories" need the stored value, and local mode
 * (dynalite) has no transactions. A conditional put on `version` makes
 * concurrent writers retry, and the `applied` token list lets each caller skip
 * work a previous (re-delivered) attempt already did.
 */
export interface VersionedTableOptions<T extends Versioned> {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** The item key attributes of a logical key (e.g. `user_id`, or `dataset` + `stat`). */
  readonly keyAttributes: (key: string) => Record<string, string>;
  /** The logical key of a stored item (inverse of `keyAttributes`). */
  readonly logicalKey: (item: Record<string, unknown>) => string;
  /** Builds a typed record from a stored item. */
  readonly decode: (item: Record<string, unknown>) => T;
  /** Parallel writes in flight. @default 16 */
  readonly concurrency?: number;
}

/** What an update callback returns: a new record to store, or nothing to write. */
export type UpdateDecision<T> = T | undefined;

const BATCH_GET_LIMIT = 100;

export class VersionedTable<T extends Versioned> {
  constructor(private readonly options: VersionedTableOptions<T>) {}

  /** Strongly consistent batch read; missing keys are absent from the map. */
  async getMany(keys: readonly string[]): Promise<Map<string, T>> {
    const found = new Map<string, T>();
    const unique = [...new Set(keys)];
    for (let start = 0; start < unique.length; start += BATCH_GET_LIMIT) {
      let requestKeys = unique
        .slice(start, start + BATCH_GET_LIMIT)
        .map((key) => toItem(this.options.keyAttributes(key)));
      await resendUntilProcessed(this.options.client, 'BatchGetItem', async () => {
        const response = await this.options.client.send(
          new BatchGetItemCommand({
            RequestItems: { [this.options.tableName]: { Keys: requestKeys, ConsistentRead: true } },
          }),
        );
        for (const item of response.Responses?.[this.options.tableName] ?? []) {
          const attributes = fromItem(item);
          found.set(this.options.logicalKey(attributes), this.options.decode(attributes));
        }
        requestKeys = response.UnprocessedKeys?.[this.options.tableName]?.Keys ?? [];
        return requestKeys.length;
      });
    }
    return found;
  }

  async get(key: string): Promise<T | undefined> {
    const response = await this.options.client.send(
      new GetItemCommand({
        TableName: this.options.tableName,
        Key: toItem(this.options.keyAttributes(key)),
        ConsistentRead: true,
      }),
    );
    return response.Item ? this.options.decode(fromItem(response.Item)) : undefined;
  }

  /**
   * For each key, calls `update(key, stored)` and stores what it returns,
   * conditional on the version it read. On a concurrent write it re-reads and
   * calls `update` again, so `update` must be a pure function of `stored`.
   */
  async updateEach(
    keys: readonly string[],
    update: (key: string, stored: T | undefined) => UpdateDecision<T>,
    prefetched?: Map<string, T>,
  ): Promise<void> {
    const stored = prefetched ?? (await this.getMany(keys));
    const queue = [...new Set(keys)];
    const workers = Array.from(
      { length: Math.min(this.options.concurrency ?? 16, queue.length) },
      async () => {
        for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
          await this.updateOne(key, update, stored.get(key));
        }
      },
    );
    await Promise.all(workers);
  }

  private async updateOne(
    key: string,
    update: (key: string, stored: T | undefined) => UpdateDecision<T>,
    initial: T | undefined,
  ): Promise<void> {
    await retryOnConflict(`updating ${this.options.tableName} key '${key}'`, async (tries) => {
      // After a lost race, what the winner stored.
      const current = tries === 1 ? initial : await this.get(key);
      const next = update(key, current);
      if (next === undefined) return true;
      const expected = current?.version ?? 0;
      try {
        await this.options.client.send(
          new PutItemCommand({
            TableName: this.options.tableName,
            Item: toItem({ ...(next as object), ...this.options.keyAttributes(key), version: expected + 1 }),
            ...(expected === 0
              ? { ConditionExpression: 'attribute_not_exists(#version)' }
              : {
                  ConditionExpression: '#version = :expected',
                  ExpressionAttributeValues: { ':expected': { N: String(expected) } },
                }),
            ExpressionAttributeNames: { '#version': 'version' },
          }),
        );
        return true;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        return false;
      }
    });
  }
}
