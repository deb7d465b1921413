import { ItemIndex, TopKHeap } from '../../../shared/serving/item-index';

// Three dimensions + bias per item.
const vectors = Float32Array.from([
  1,
  0,
  0,
  0.1, // a
  0,
  1,
  0,
  0.0, // b
  0.9,
  0.1,
  0,
  0.0, // c
  0,
  0,
  1,
  0.5, // d
  -1,
  0,
  0,
  0.0, // e
]);
const ids = ['a', 'b', 'c', 'd', 'e'];
const attributes = [
  { category: 'books', price: 10 },
  { category: 'books', price: 30 },
  { category: 'toys', price: 5 },
  { category: 'toys', price: null },
  { category: null, price: 1 },
];

describe('ItemIndex', () => {
  const index = new ItemIndex(vectors, ids, attributes);

  it('returns only items similar at all: never a negative or zero cosine to fill the list', () => {
    // a's neighbours: c (cos 0.99), then b and d (0) and e (-1). A filter leaving only b, d, e finds none.
    expect(index.similar(0, 4).map((item) => item.itemId)).toEqual(['c']);
    expect(index.similar(0, 4, { category: 'books' })).toEqual([]);
  });

  it('scores by dot product including the bias and returns the best first', () => {
    const user = Float32Array.from([1, 0, 0, 1]);
    expect(index.topK(user, 3).map((item) => [item.itemId, Number(item.score.toFixed(4))])).toEqual([
      ['a', 1.1],
      ['c', 0.9],
      ['d', 0.5],
    ]);
  });

  it('applies exclusions and attribute filters, returning fewer only when fewer items qualify', () => {
    const user = Float32Array.from([1, 0, 0, 1]);
    expect(index.topK(user, 2, { exclude: new Set([0]) }).map((item) => item.itemId)).toEqual(['c', 'd']);
    expect(index.topK(user, 5, { category: 'books' }).map((item) => item.itemId)).toEqual(['a', 'b']);
    expect(index.topK(user, 5, { minPrice: 5, maxPrice: 20 }).map((item) => item.itemId)).toEqual(['a', 'c']);
  });

  it('matches a category filter against any value of a list attribute (genres)', () => {
    const genres = new ItemIndex(vectors, ids, [
      { category: ['Adventure', 'Animation', 'Children'], price: null },
      { category: ['Comedy'], price: null },
      { category: 'Comedy', price: null },
      { category: ['Drama', 'Comedy'], price: null },
      { category: null, price: null },
    ]);
    const user = Float32Array.from([1, 0, 0, 1]);
    expect(genres.topK(user, 5, { category: 'Comedy' }).map((item) => item.itemId)).toEqual(['c', 'd', 'b']);
    expect(genres.topK(user, 5, { category: 'Animation' }).map((item) => item.itemId)).toEqual(['a']);
    // Not a substring match on the joined text.
    expect(genres.topK(user, 5, { category: 'Com' })).toEqual([]);
  });

  it('ranks by a baseline’s per-item scores under the same filters', () => {
    const shares = Float32Array.of(0.1, 0.4, 0.2, 0.25, 0.05);
    expect(index.rankByScores(shares, 3).map((item) => [item.itemId, item.score])).toEqual([
      ['b', Math.fround(0.4)],
      ['d', Math.fround(0.25)],
      ['c', Math.fround(0.2)],
    ]);
    expect(index.rankByScores(shares, 3, { category: 'toys' }).map((item) => item.itemId)).toEqual([
      'd',
      'c',
    ]);
  });

  it('finds similar items by cosine, leaving the item itself out', () => {
    // b is orthogonal to a (cosine 0): not similar, so not returned (see the test above).
    expect(index.similar(0, 2).map((item) => item.itemId)).toEqual(['c']);
    expect(index.similar(0, 1)[0]?.score).toBeCloseTo(0.9 / Math.sqrt(0.82), 5);
  });

  it('rejects misaligned artifacts and user vectors of the wrong width', () => {
    expect(() => new ItemIndex(vectors.subarray(0, 7), ids, attributes)).toThrow(
      'do not divide into 5 items',
    );
    expect(() => index.topK(Float32Array.from([1, 0, 0]), 1)).toThrow(
      'user vector has 3 values, the model needs 4',
    );
  });
});

describe('TopKHeap', () => {
  it('matches a full sort, ties broken by lower index', () => {
    const scores = Array.from({ length: 500 }, (_, i) => Math.round(Math.sin(i * 7.7) * 50) / 10);
    const heap = new TopKHeap(20);
    scores.forEach((score, i) => heap.offer(i, score));
    const expected = scores
      .map((score, i) => [i, score] as [number, number])
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .slice(0, 20);
    expect(heap.sorted()).toEqual(expected);
  });
});
