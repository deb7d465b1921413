import {
  decodeNeighbourTable,
  encodeNeighbourTable,
  forEachNeighbour,
  neighbourTable,
} from '../../../shared/data/item-neighbours';

describe('the item-neighbour table', () => {
  const table = neighbourTable(
    [
      { ids: [2, 1, 3], similarities: [0.9, 0.5, 0.25] },
      { ids: [], similarities: [] },
      { ids: [0], similarities: [0.75] },
    ],
    2,
  );

  it('keeps at most k neighbours per item, most similar first, and round-trips through its binary form', () => {
    const seen = (item: number) => {
      const out: [number, number][] = [];
      forEachNeighbour(decodeNeighbourTable(encodeNeighbourTable(table)), item, (id, similarity) => {
        out.push([id, similarity]);
      });
      return out;
    };
    expect(seen(0)).toEqual([
      [2, 0.8999999761581421],
      [1, 0.5],
    ]);
    expect(seen(1)).toEqual([]);
    expect(seen(2)).toEqual([[0, 0.75]]);
    expect(seen(7)).toEqual([]);
    expect(encodeNeighbourTable(table).byteLength).toBe(8 + 3 * 2 * 8);
  });

  it('stops when the visitor says so, and refuses bytes that do not match their header', () => {
    const visited: number[] = [];
    forEachNeighbour(table, 0, (id) => {
      visited.push(id);
      return false;
    });
    expect(visited).toEqual([2]);
    expect(() => decodeNeighbourTable(encodeNeighbourTable(table).subarray(0, 20))).toThrow(
      'item-neighbours.bin holds 20 bytes, not the 56 of 3 × 2',
    );
  });
});
