/**
 * The item-kNN neighbour table as flat typed arrays, and its binary artifact
 * (`item-neighbours.bin`, layout in shared/contracts/artifacts.ts): a fixed
 * number of slots per item, so an item's neighbours are one slice — no nested
 * arrays or JSON to build for a large catalogue.
 */
export interface ItemNeighbourTable {
  readonly items: number;
  /** Slots per item; unused slots hold −1. */
  readonly k: number;
  readonly ids: Int32Array;
  readonly similarities: Float32Array;
}

/** The table from per-item lists (most similar first), keeping at most `k` per item. */
export function neighbourTable(
  lists: readonly { readonly ids: ArrayLike<number>; readonly similarities: ArrayLike<number> }[],
  k: number,
): ItemNeighbourTable {
  const ids = new Int32Array(lists.length * k).fill(-1);
  const similarities = new Float32Array(lists.length * k);
  lists.forEach((list, item) => {
    const count = Math.min(k, list.ids.length);
    for (let slot = 0; slot < count; slot++) {
      ids[item * k + slot] = list.ids[slot] as number;
      similarities[item * k + slot] = list.similarities[slot] as number;
    }
  });
  return { items: lists.length, k, ids, similarities };
}

/** Calls `visit` for each neighbour of `item`, most similar first, until it returns false. */
export function forEachNeighbour(
  table: ItemNeighbourTable,
  item: number,
  visit: (neighbour: number, similarity: number) => boolean | void,
): void {
  if (item < 0 || item >= table.items) return;
  for (let slot = item * table.k; slot < (item + 1) * table.k; slot++) {
    const neighbour = table.ids[slot] as number;
    if (neighbour < 0) return;
    if (visit(neighbour, table.similarities[slot] as number) === false) return;
  }
}

export function encodeNeighbourTable(table: ItemNeighbourTable): Uint8Array {
  const cells = table.items * table.k;
  const out = new Uint8Array(8 + cells * 8);
  const view = new DataView(out.buffer);
  view.setInt32(0, table.items, true);
  view.setInt32(4, table.k, true);
  for (let cell = 0; cell < cells; cell++) {
    view.setInt32(8 + cell * 4, table.ids[cell] as number, true);
    view.setFloat32(8 + cells * 4 + cell * 4, table.similarities[cell] as number, true);
  }
  return out;
}

export function decodeNeighbourTable(bytes: Uint8Array): ItemNeighbourTable {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 8) throw new Error('item-neighbours.bin is shorter than its header');
  const items = view.getInt32(0, true);
  const k = view.getInt32(4, true);
  const cells = items * k;
  if (items < 0 || k < 0 || bytes.byteLength !== 8 + cells * 8)
    throw new Error(
      `item-neighbours.bin holds ${bytes.byteLength} bytes, not the ${8 + cells * 8} of ${items} × ${k}`,
    );
  const ids = new Int32Array(cells);
  const similarities = new Float32Array(cells);
  for (let cell = 0; cell < cells; cell++) {
    ids[cell] = view.getInt32(8 + cell * 4, true);
    similarities[cell] = view.getFloat32(8 + cells * 4 + cell * 4, true);
  }
  return { items, k, ids, similarities };
}
