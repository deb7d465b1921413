import { accidentalHitMask } from '../../../shared/ml/training-step';

describe('sampled softmax: accidental hits', () => {
  it('masks every candidate equal to the row’s target except the row’s own column, and nothing else', () => {
    // Rows' targets are candidates 0..2; then three sampled negatives. Item 7 is two rows' target and sampled once.
    const mask = accidentalHitMask(Int32Array.of(7, 3, 7), Int32Array.of(7, 3, 7, 5, 7, 3));
    const rows = [0, 1, 2].map((row) => [...mask.subarray(row * 6, row * 6 + 6)]);
    expect(rows.map((row) => row.map((value) => value === -1e9))).toEqual([
      [false, false, true, false, true, false], // row 0 (item 7): the other 7s
      [false, false, false, false, false, true], // row 1 (item 3): the sampled 3
      [true, false, false, false, true, false], // row 2 (item 7): the other 7s
    ]);
    // Everything else is left as it is (the mask is added to the logits).
    expect(mask.filter((value) => value !== 0 && value !== -1e9)).toHaveLength(0);
  });
});
