import { decodeItemSet, encodeItemSet } from '../../../shared/data/item-set';

describe('the compact item set', () => {
  it('round-trips short and long histories, gaps of any size included', () => {
    for (const [indices, numItems] of [
      [[], 10],
      [[0], 1],
      [[3, 1, 2, 3], 10],
      [[0, 127, 128, 16_383, 16_384, 999_999], 1_000_000],
      [Array.from({ length: 200 }, (_, index) => index * 7), 2_000],
    ] as const) {
      expect([...decodeItemSet(encodeItemSet(indices, numItems))].sort((a, b) => a - b)).toEqual(
        [...new Set(indices)].sort((a, b) => a - b),
      );
    }
  });

  it('stays small: a gap list for a short history, a bitmap over the catalogue for a long one', () => {
    expect(encodeItemSet([5, 9, 400], 1_000_000).byteLength).toBe(1 + 1 + 1 + 2);
    // Every item of a 1M catalogue seen: 125,001 bytes, far under DynamoDB's 400 KB item limit.
    const all = Array.from({ length: 1_000_000 }, (_, index) => index);
    const encoded = encodeItemSet(all, 1_000_000);
    expect(encoded.byteLength).toBe(125_001);
    expect(decodeItemSet(encoded).size).toBe(1_000_000);
  });

  it('refuses an index outside the catalogue', () => {
    expect(() => encodeItemSet([10], 10)).toThrow('item index 10 is outside the catalogue of 10');
  });
});
