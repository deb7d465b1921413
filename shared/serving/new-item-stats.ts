import { type AttributeValue, BatchGetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { resendUntilProcessed } from '../aws/retry';
import type { ServedModel } from './model-store';

/**
 * How many interactions each new item has had since it was listed — ingestion's per-item `event_count` in
 * the items table — for the exploration bonus. Read for the model's new items at most every `ttlMs`
 * (BatchGetItem, 100 keys per call); a failed read keeps the previous counts.
 */
export class NewItemInteractions {
  private cached: { at: number; version: string; size: number; counts: Map<number, number> } | undefined;

  constructor(
    private readonly read: (itemIds: readonly string[]) => Promise<Map<string, number>>,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async of(model: Pick<ServedModel, 'manifest' | 'items' | 'newItems'>): Promise<(index: number) => number> {
    const newItems = model.newItems;
    if (!newItems || newItems.size === 0) return () => 0;
    const cached = this.cached;
    const fresh =
      cached &&
      cached.version === model.manifest.version &&
      cached.size === newItems.size &&
      this.now() - cached.at < this.ttlMs;
    if (!fresh) {
      const indices = [...newItems.keys()];
      const ids = indices.map((index) => model.items.itemIds[index] as string);
      const byId = await this.read(ids).catch(() => undefined);
      if (byId) {
        this.cached = {
          at: this.now(),
          version: model.manifest.version,
          size: newItems.size,
          counts: new Map(indices.map((index, position) => [index, byId.get(ids[position] as string) ?? 0])),
        };
      }
    }
    const counts = this.cached?.counts;
    return (index) => counts?.get(index) ?? 0;
  }
}

/** `event_count` of the given items from the items table. */
export async function readItemEventCounts(
  client: DynamoDBClient,
  table: string,
  itemIds: readonly string[],
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let start = 0; start < itemIds.length; start += 100) {
    let request: Record<string, { Keys: Record<string, AttributeValue>[]; ProjectionExpression: string }> = {
      [table]: {
        Keys: itemIds.slice(start, start + 100).map((itemId) => ({ item_id: { S: itemId } })),
        ProjectionExpression: 'item_id, event_count',
      },
    };
    await resendUntilProcessed(client, 'BatchGetItem', async () => {
      const response = await client.send(new BatchGetItemCommand({ RequestItems: request }));
      for (const item of response.Responses?.[table] ?? []) {
        counts.set(String(item.item_id?.S), Number(item.event_count?.N ?? 0));
      }
      request = (response.UnprocessedKeys ?? {}) as typeof request;
      return Object.values(request).reduce((sum, entry) => sum + entry.Keys.length, 0);
    });
  }
  return counts;
}
