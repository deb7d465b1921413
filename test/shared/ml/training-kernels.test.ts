import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../shared/ml/backend';
import { gatherRows } from '../../../shared/ml/kernels/gather-rows';
import { logSumExpRows } from '../../../shared/ml/training-step';
import { matMulAddBias } from '../../../shared/ml/two-tower';

describe('the training step’s own pieces', () => {
  beforeAll(async () => {
    await initBackend({ force: 'wasm' });
  });

  it('logSumExpRows: the value and gradient of TF.js’s logSumExp, without its Equal over the matrix', () => {
    const logits = tf.tensor2d([
      [0.5, -1, 3, 3],
      [10, 20, -5, 0],
      [0, 0, 0, 0],
    ]);
    const weights = tf.tensor1d([1, -2, 0.5]);
    const loss = (f: (x: tf.Tensor2D) => tf.Tensor1D) => (x: tf.Tensor) =>
      f(x as tf.Tensor2D)
        .mul(weights)
        .sum();
    const values = logSumExpRows(logits).arraySync();
    (tf.logSumExp(logits, 1).arraySync() as number[]).forEach((value, row) =>
      expect(values[row]).toBeCloseTo(value, 5),
    );
    const ours = tf.grad(loss(logSumExpRows))(logits).arraySync() as number[][];
    const reference = tf
      .grad(loss((x) => tf.logSumExp(x, 1) as tf.Tensor1D))(logits)
      .arraySync() as number[][];
    ours.forEach((row, index) =>
      row.forEach((value, column) => expect(value).toBeCloseTo(reference[index]?.[column] as number, 5)),
    );
  });

  it('matMulAddBias equals the product plus a broadcast bias, for a kernel and for item rows', () => {
    const x = tf.tensor2d([
      [1, 2],
      [-1, 0.5],
      [0, 3],
    ]);
    const kernel = tf.tensor2d([
      [0.5, -1, 2],
      [1, 0, -0.5],
    ]);
    const bias = tf.tensor1d([0.1, -0.2, 0.3]);
    const expected = x.matMul(kernel).add(bias).arraySync() as number[][];
    const close = (actual: number[][]) =>
      actual.forEach((row, i) =>
        row.forEach((value, j) => expect(value).toBeCloseTo(expected[i]?.[j] as number, 5)),
      );
    close(matMulAddBias(x, kernel, bias).arraySync());
    close(matMulAddBias(x, kernel.transpose() as tf.Tensor2D, bias, true).arraySync());
  });

  it('gathers rows on wasm exactly as indexing the table does, other axes through the stock kernel', () => {
    const table = tf.tensor2d(
      Float32Array.from({ length: 12 }, (_, index) => index),
      [4, 3],
    );
    const rows = tf.gather(table, tf.tensor2d([3, 0, 3, 1], [2, 2], 'int32'));
    expect(rows.shape).toEqual([2, 2, 3]);
    expect(rows.arraySync()).toEqual([
      [
        [9, 10, 11],
        [0, 1, 2],
      ],
      [
        [9, 10, 11],
        [3, 4, 5],
      ],
    ]);
    expect(tf.gather(table, tf.tensor1d([2, 0], 'int32'), 1).arraySync()).toEqual([
      [2, 0],
      [5, 3],
      [8, 6],
      [11, 9],
    ]);
    expect(() => gatherRows(new Float32Array(12), 4, [4], new Float32Array(3))).toThrow(
      'GatherV2: the index value 4 is not in [0, 3]',
    );
  });

  it('wasm Tanh (via Sigmoid) matches tanh to float32 rounding, including large and tiny inputs', () => {
    const x = Float32Array.from([
      -40,
      -5,
      -1,
      -1e-4,
      0,
      1e-4,
      0.3,
      2,
      9,
      40,
      ...Array.from({ length: 990 }, (_, i) => Math.sin(i) * 4),
    ]);
    const values = tf.tanh(tf.tensor1d(x)).dataSync();
    x.forEach((value, index) =>
      expect(Math.abs((values[index] as number) - Math.tanh(value))).toBeLessThan(3e-7),
    );
  });

  it('transposed products on wasm (swapped or as a column sum) equal the plain products', () => {
    const a = tf.tensor2d(
      Float32Array.from({ length: 300 * 5 }, (_, i) => Math.sin(i)),
      [300, 5],
    );
    const b = tf.tensor2d(
      Float32Array.from({ length: 300 * 3 }, (_, i) => Math.cos(i)),
      [300, 3],
    );
    const column = tf.tensor2d(
      Float32Array.from({ length: 300 }, (_, i) => (i % 7) - 3),
      [300, 1],
    );
    const wide = tf.tensor2d(
      Float32Array.from({ length: 300 * 40 }, (_, i) => Math.sin(i / 3)),
      [300, 40],
    );
    const reference = (x: tf.Tensor2D, y: tf.Tensor2D) => {
      const xs = x.arraySync();
      const ys = y.arraySync();
      return Array.from({ length: x.shape[1] }, (_, i) =>
        Array.from({ length: y.shape[1] }, (_, j) =>
          xs.reduce((sum, row, r) => sum + (row[i] as number) * ((ys[r] as number[])[j] as number), 0),
        ),
      );
    };
    for (const [x, y] of [
      [a, b],
      [a, column],
      [wide, a],
      [b, wide],
    ] as [tf.Tensor2D, tf.Tensor2D][]) {
      const product = x.matMul(y, true, false).arraySync() as number[][];
      reference(x, y).forEach((row, i) =>
        row.forEach((value, j) => expect(product[i]?.[j]).toBeCloseTo(value, 3)),
      );
    }
  });

  it('sums a matrix over its first axis on wasm as the stock kernel does, other reductions unchanged', () => {
    const x = tf.tensor2d(
      Float32Array.from({ length: 300 * 7 }, (_, i) => Math.sin(i)),
      [300, 7],
    );
    const expected = Array.from({ length: 7 }, (_, column) =>
      Array.from({ length: 300 }, (_, row) => Math.sin(row * 7 + column)).reduce((a, b) => a + b, 0),
    );
    const sums = x.sum(0).arraySync() as number[];
    expected.forEach((value, column) => expect(sums[column]).toBeCloseTo(value, 3));
    expect(x.sum(0, true).shape).toEqual([1, 7]);
    expect(x.sum(-2).shape).toEqual([7]);
    const rows = x.sum(1).arraySync() as number[];
    expect(rows[2]).toBeCloseTo(
      Array.from({ length: 7 }, (_, c) => Math.sin(14 + c)).reduce((a, b) => a + b, 0),
      3,
    );
    expect(tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]).sum(0).arraySync()).toEqual([
      [6, 8],
      [10, 12],
    ]);
  });
});
