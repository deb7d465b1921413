import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../shared/ml/backend';
import {
  registerScatterAddKernel,
  restoreStockKernel,
  scatterAddRows,
} from '../../../shared/ml/kernels/scatter-add-segment-sum';

describe('scatterAddRows', () => {
  it('adds each row into its segment and skips out-of-range ids', () => {
    // Prepare: 4 rows of width 2, ids 1, 0, 1, 7 (7 is outside 3 segments)
    const x = [1, 2, 3, 4, 5, 6, 7, 8];
    const out = new Float32Array(6);

    // Act
    scatterAddRows(x, [1, 0, 1, 7], 3, out);

    // Assess
    expect(Array.from(out)).toEqual([3, 4, 6, 8, 0, 0]);
  });
});

/** Gradient of sum(gather(params, indices) * weights) with respect to params. */
function embeddingGradient(params: number[][], indices: number[], weights: number[][]): number[][] {
  return tf.tidy(() => {
    const p = tf.tensor2d(params);
    const w = tf.tensor2d(weights);
    const grad = tf.grad((table: tf.Tensor) =>
      tf.sum(tf.mul(tf.gather(table, tf.tensor1d(indices, 'int32')), w)),
    );
    return grad(p).arraySync() as number[][];
  });
}

describe('scatter-add UnsortedSegmentSum kernel', () => {
  const params = [
    [0.1, 0.2, 0.3],
    [0.4, 0.5, 0.6],
    [0.7, 0.8, 0.9],
    [1.0, 1.1, 1.2],
  ];
  const indices = [2, 0, 2, 3, 2];
  const weights = [
    [1, 2, 3],
    [4, 5, 6],
    [-1, 0.5, 2],
    [0, 0, 1],
    [3, 3, 3],
  ];

  it('gives the same embedding gradients as the stock cpu kernel', async () => {
    // Prepare: the stock kernel computes the reference gradient.
    await initBackend({ force: 'cpu' });
    restoreStockKernel(tf, 'cpu');
    const stockKernel = tf.getKernel('UnsortedSegmentSum', 'cpu');
    const reference = embeddingGradient(params, indices, weights);

    // Act
    registerScatterAddKernel(tf, 'cpu');
    const fast = embeddingGradient(params, indices, weights);

    // Assess
    expect(stockKernel).toBeDefined();
    expect(tf.getKernel('UnsortedSegmentSum', 'cpu')?.kernelFunc).not.toBe(stockKernel?.kernelFunc);
    expect(fast).toEqual(reference);
    expect(fast[1]).toEqual([0, 0, 0]);
    expect(fast[2]).toEqual([3, 5.5, 8]);
  });

  it('gives the same gradients on wasm, which has no stock kernel', async () => {
    await initBackend({ force: 'cpu' });
    const cpuGradient = embeddingGradient(params, indices, weights);
    await initBackend({ force: 'wasm' });
    const wasmGradient = embeddingGradient(params, indices, weights);
    expect(tf.getBackend()).toBe('wasm');
    for (let row = 0; row < cpuGradient.length; row++) {
      for (let col = 0; col < 3; col++) {
        expect(wasmGradient[row]?.[col]).toBeCloseTo(cpuGradient[row]?.[col] as number, 6);
      }
    }
  });

  it('does not leak tensors when computing gradients', async () => {
    await initBackend({ force: 'wasm' });
    embeddingGradient(params, indices, weights);
    const before = tf.memory().numTensors;
    embeddingGradient(params, indices, weights);
    expect(tf.memory().numTensors).toBe(before);
  });
});
