import { accidentalHits } from '../../../shared/ml/softmax-loss';

describe('sampled softmax: accidental hits', () => {
  it('lists every candidate equal to the row’s target except the row’s own column, and nothing else', () => {
    // Rows' targets are candidates 0..2; then three sampled negatives. Item 7 is two rows' target and sampled once.
    const hits = accidentalHits(Int32Array.of(7, 3, 7), Int32Array.of(7, 3, 7, 5, 7, 3));
    const rows = [0, 1, 2].map((row) => [
      ...hits.columns.subarray(hits.offsets[row] as number, hits.offsets[row + 1] as number),
    ]);
    expect(rows).toEqual([
      [2, 4], // row 0 (item 7): the other 7s
      [5], // row 1 (item 3): the sampled 3
      [0, 4], // row 2 (item 7): the other 7s
    ]);
  });

  it('counts a later part’s rows from its first batch row', () => {
    // Part rows 0..1 are batch rows 2..3: their own columns are 2 and 3.
    const hits = accidentalHits(Int32Array.of(7, 3), Int32Array.of(3, 7, 7, 3, 7), 2);
    expect(Array.from(hits.offsets)).toEqual([0, 2, 3]);
    expect(Array.from(hits.columns)).toEqual([1, 4, 0]);
  });
});
