import { attributeValues } from '../data/list-values';

export { categoryAttribute, servedAttributes } from '../data/item-attributes';
import { topKIndices } from '../ml/top-k';

/** The item side of a version's artifacts: categories for the item tower, served attributes, baseline lists. */
/** Most category values one item contributes to the item tower (a list attribute beyond this is cut). */
const MAX_CATEGORY_SLOTS = 16;

/**
 * Items' categories as the item tower reads them: a vocabulary, and per item `slots` 1-based indices (0 =
 * padding) — one for a plain `category`, each value for a list attribute (genres "Comedy|Drama").
 */
export function itemCategoryIndices(
  itemIds: readonly string[],
  itemAttributes: ReadonlyMap<string, Record<string, unknown>>,
): { vocabulary: string[]; indices: Int32Array; slots: number } {
  const vocabulary: string[] = [];
  const index = new Map<string, number>();
  const perItem = itemIds.map((itemId) =>
    attributeValues(itemAttributes.get(itemId)?.category)
      .slice(0, MAX_CATEGORY_SLOTS)
      .map((name) => {
        let position = index.get(name);
        if (position === undefined) {
          vocabulary.push(name);
          position = vocabulary.length;
          index.set(name, position);
        }
        return position;
      }),
  );
  const slots = perItem.reduce((most, values) => Math.max(most, values.length), 1);
  const indices = new Int32Array(itemIds.length * slots);
  perItem.forEach((values, item) => indices.set(values, item * slots));
  return { vocabulary, indices, slots };
}

/** Popularity then trending, each as a share of its total (an item's part of all positive signal). */
export function baselineShares(popularity: Float32Array, trending: Float32Array): Float32Array {
  const out = new Float32Array(popularity.length * 2);
  [popularity, trending].forEach((scores, block) => {
    let total = 0;
    for (const score of scores) if (score > 0) total += score;
    for (let item = 0; item < scores.length; item++)
      out[block * scores.length + item] = total > 0 ? (scores[item] as number) / total : 0;
  });
  return out;
}

export function topList(scores: Float32Array, k: number): [number, number][] {
  return Array.from(topKIndices(scores, k), (item) => [item, Number((scores[item] as number).toFixed(6))]);
}
