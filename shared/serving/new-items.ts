import { curatedObjectRows } from '../ingest/curated-json';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { ItemContentArtifact } from '../contracts/artifacts';
import { categoryAttribute, servedAttributes } from '../data/item-attributes';
import { DATA_LAKE_PREFIXES } from '../resources/definitions';
import { type ItemAttributes, ItemIndex } from './item-index';

/**
 * Items the served model never saw — listed in the items dataset after the run, or never interacted with —
 * made recommendable at once: each gets the model's average item of its categories (the centroid of their
 * learned vectors) from its attributes, and is appended to the served catalogue until the next training run
 * learns it properly.
 */
export interface NewItem {
  readonly itemId: string;
  readonly attributes: Record<string, unknown>;
  /** Unix seconds the items file that listed it was ingested (its curated part's LastModified). */
  readonly addedAt: number;
}

/** Content vectors for unseen items, as plain arithmetic (the API bundles no TF.js). */
export class ItemContentModel {
  private readonly categoryRow: Map<string, number>;

  constructor(private readonly artifact: ItemContentArtifact) {
    this.categoryRow = new Map(artifact.categories.map((category, index) => [category, index + 1]));
  }

  /**
   * The item's vector with its bias (the item matrix's row layout): the mean centroid of its known
   * categories, or the overall centroid when it has none the model knows.
   */
  vector(attributes: Record<string, unknown>): Float32Array {
    const width = this.artifact.embeddingDim + 1;
    const category = categoryAttribute(attributes.category);
    const known = (category === null ? [] : Array.isArray(category) ? category : [category])
      .map((value) => this.categoryRow.get(value))
      .filter((row): row is number => row !== undefined);
    const rows = known.length > 0 ? known : [0];
    const out = new Float32Array(width);
    for (const row of rows) {
      const centroid = this.artifact.centroids[row] ?? [];
      for (let dimension = 0; dimension < width; dimension++) {
        out[dimension] = (out[dimension] as number) + (centroid[dimension] ?? 0) / rows.length;
      }
    }
    return out;
  }
}

/**
 * Items of curated item parts written since `since` (Unix seconds) that `known` does not hold, the latest
 * listing of each id winning. `seen` keeps the keys already read, so a refresh reads only new parts.
 */
export async function readNewItems(
  s3: S3Client,
  bucket: string,
  since: number,
  known: (itemId: string) => boolean,
  seen: Set<string> = new Set(),
): Promise<NewItem[]> {
  const found = new Map<string, NewItem>();
  let token: string | undefined;
  const parts: { key: string; modified: number }[] = [];
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: `${DATA_LAKE_PREFIXES.curated}items/`,
        ContinuationToken: token,
      }),
    );
    for (const object of page.Contents ?? []) {
      const modified = Math.floor((object.LastModified?.getTime() ?? 0) / 1000);
      const id = `${object.Key}|${object.ETag}`;
      if (!object.Key?.endsWith('.jsonl.gz') || modified < since || seen.has(id)) continue;
      seen.add(id);
      parts.push({ key: object.Key, modified });
    }
    token = page.NextContinuationToken;
  } while (token);
  for (const part of parts.sort((a, b) => a.modified - b.modified)) {
    for await (const row of curatedObjectRows(s3, bucket, part.key)) {
      const itemId = String(row.item_id);
      if (known(itemId)) continue;
      found.set(itemId, { itemId, attributes: row, addedAt: part.modified });
    }
  }
  return [...found.values()];
}

/** The served catalogue with new items appended (their vectors from `content`); the trained rows unchanged. */
export function appendItems(
  items: ItemIndex,
  content: ItemContentModel,
  added: readonly NewItem[],
): ItemIndex {
  if (added.length === 0) return items;
  const width = items.width;
  const vectors = new Float32Array((items.size + added.length) * width);
  for (let index = 0; index < items.size; index++) vectors.set(items.vector(index), index * width);
  added.forEach((item, offset) =>
    vectors.set(content.vector(item.attributes), (items.size + offset) * width),
  );
  const attributes: ItemAttributes[] = [
    ...items.attributes,
    ...added.map((item) => ({
      category: categoryAttribute(item.attributes.category),
      price: typeof item.attributes.price === 'number' ? item.attributes.price : null,
      attributes: servedAttributes(item.attributes),
    })),
  ];
  return new ItemIndex(vectors, [...items.itemIds, ...added.map((item) => item.itemId)], attributes);
}
