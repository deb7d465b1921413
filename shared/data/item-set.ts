/**
 * A user's set of item indices as bytes small enough for a DynamoDB attribute:
 * either the sorted indices as LEB128 varint gaps (small for short histories)
 * or a bitmap over the catalogue (numItems / 8 bytes, whatever the history),
 * whichever is smaller. The first byte names the format.
 */
const LIST = 1;
const BITMAP = 2;

export function encodeItemSet(indices: Iterable<number>, numItems: number): Uint8Array {
  const sorted = [...new Set(indices)].sort((a, b) => a - b);
  for (const index of sorted) {
    if (!Number.isInteger(index) || index < 0 || index >= numItems) {
      throw new RangeError(`item index ${index} is outside the catalogue of ${numItems}`);
    }
  }
  const bitmapBytes = 1 + Math.ceil(numItems / 8);
  const list: number[] = [LIST];
  let previous = -1;
  for (const index of sorted) {
    let gap = index - previous - 1;
    previous = index;
    while (gap >= 0x80) {
      list.push((gap & 0x7f) | 0x80);
      gap >>>= 7;
    }
    list.push(gap);
    if (list.length >= bitmapBytes) break; // the bitmap wins; stop growing the list
  }
  if (list.length < bitmapBytes) return Uint8Array.from(list);
  const bitmap = new Uint8Array(bitmapBytes);
  bitmap[0] = BITMAP;
  for (const index of sorted)
    bitmap[1 + (index >>> 3)] = (bitmap[1 + (index >>> 3)] as number) | (1 << (index & 7));
  return bitmap;
}

export function decodeItemSet(bytes: Uint8Array): Set<number> {
  const set = new Set<number>();
  if (bytes.byteLength === 0) return set;
  if (bytes[0] === LIST) {
    let previous = -1;
    let gap = 0;
    let shift = 0;
    for (let offset = 1; offset < bytes.byteLength; offset++) {
      const byte = bytes[offset] as number;
      gap += (byte & 0x7f) * 2 ** shift;
      if (byte & 0x80) {
        shift += 7;
        continue;
      }
      previous += gap + 1;
      set.add(previous);
      gap = 0;
      shift = 0;
    }
    return set;
  }
  if (bytes[0] === BITMAP) {
    for (let offset = 1; offset < bytes.byteLength; offset++) {
      const byte = bytes[offset] as number;
      if (byte === 0) continue;
      for (let bit = 0; bit < 8; bit++) if (byte & (1 << bit)) set.add((offset - 1) * 8 + bit);
    }
    return set;
  }
  throw new Error(`unknown item-set format ${bytes[0]}`);
}
