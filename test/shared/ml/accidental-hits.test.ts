import * as tf from '@tensorflow/tfjs';
import { maskAccidentalHits } from '../../../shared/ml/train-two-tower';

describe('sampled softmax: accidental hits', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('masks every candidate equal to the row’s target except the row’s own column, and nothing else', () => {
    // Rows' targets are candidates 0..2; then three sampled negatives. Item 7 is two rows' target and sampled once.
    const targets = tf.tensor1d([7, 3, 7], 'int32');
    const candidates = tf.tensor1d([7, 3, 7, 5, 7, 3], 'int32');
    const logits = tf.tensor2d(
      Array.from({ length: 18 }, (_, index) => index / 10),
      [3, 6],
    );
    const masked = maskAccidentalHits(logits, targets, candidates).arraySync();
    const hit = (value: number) => value < -1e8;
    expect(masked.map((row) => row.map(hit))).toEqual([
      [false, false, true, false, true, false], // row 0 (item 7): the other 7s
      [false, false, false, false, false, true], // row 1 (item 3): the sampled 3
      [true, false, false, false, true, false], // row 2 (item 7): the other 7s
    ]);
    // Unmasked logits pass through unchanged, so the target's own logit and the others keep their values.
    expect(masked[1]?.[1]).toBeCloseTo(0.7, 6);
    expect(masked[0]?.[3]).toBeCloseTo(0.3, 6);
  });
});
