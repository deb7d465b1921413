import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../shared/ml/backend';
import { softmaxRowsInPlace } from '../../../shared/ml/kernels/softmax-rows';
import { gatherRows } from '../../../shared/ml/kernels/gather-rows';
import { accidentalHits, softmaxLoss, type SoftmaxLossRows } from '../../../shared/ml/softmax-loss';
import { matMulAddBias } from '../../../shared/ml/two-tower';

describe('the training step’s own pieces', () => {
  beforeAll(async () => {
    await initBackend({ force: 'wasm' });
  });

  it.each([
    ['sampled softmax with accidental hits, 5 columns: copied off the heap', false, 5],
    ['weighted, with a negative row, 5 columns: copied off the heap', true, 5],
    ['sampled softmax with accidental hits, 8 columns: in place on the heap', false, 8],
    ['weighted, with a negative row, 8 columns: in place on the heap', true, 8],
  ])('softmaxLoss (%s): the value and gradients of the composed TF.js loss', (_name, weighted, columns) => {
    const users = tf.tensor2d([0.5, -1, 0.2, 1, 0.3, 0.3, -0.4, 2, 0, 0.1, -0.6, 0.9], [4, 3]);
    const candidates = tf.tensor2d(
      Array.from({ length: columns * 3 }, (_, at) => Math.sin(at * 1.7) * (at % 3 === 0 ? 1 : 0.6)),
      [columns, 3],
    );
    const bias = tf.tensor1d(Array.from({ length: columns }, (_, at) => Math.cos(at * 2.3) * 0.4));
    // The rows' targets, then sampled items: rows 0 and 3 share a target, the first sample is row 1's target.
    const items = Int32Array.from({ length: columns }, (_, at) => [4, 9, 6, 4, 9][at] ?? 20 + at);
    const targets = items.slice(0, 4);
    const targetColumns = Int32Array.of(0, 1, 2, 3);
    const hits = accidentalHits(targets, items);
    expect(hits.columns.length).toBe(3);
    const rows: SoftmaxLossRows = weighted
      ? {
          targetColumns,
          hits,
          weights: Float32Array.of(1, 2, 0.5, 1.5),
          positive: Uint8Array.of(1, 1, 0, 1),
          denominator: 5,
        }
      : { targetColumns, hits, denominator: 4 };
    const reference = (u: tf.Tensor, v: tf.Tensor, b: tf.Tensor): tf.Scalar => {
      const logits = u.matMul(v, false, true).add(b) as tf.Tensor2D;
      const mask = new Float32Array(4 * columns);
      for (let row = 0; row < 4; row++)
        for (let at = hits.offsets[row] as number; at < (hits.offsets[row + 1] as number); at++)
          mask[row * columns + (hits.columns[at] as number)] = -1e9;
      const target = tf.sum(logits.mul(tf.oneHot(tf.tensor1d(targetColumns, 'int32'), columns)), 1);
      const positiveLoss = tf.logSumExp(logits.add(tf.tensor2d(mask, [4, columns])), 1).sub(target);
      const negativeLoss = tf.softplus(target.sub(logits.mean(1)));
      const perRow = rows.positive
        ? tf.where(tf.tensor1d(rows.positive, 'bool'), positiveLoss, negativeLoss)
        : positiveLoss;
      return perRow
        .mul(rows.weights ? tf.tensor1d(rows.weights) : tf.scalar(1))
        .sum()
        .div(rows.denominator) as tf.Scalar;
    };
    const fused = (u: tf.Tensor, v: tf.Tensor, b: tf.Tensor) =>
      softmaxLoss(u as tf.Tensor2D, v as tf.Tensor2D, b as tf.Tensor1D, rows).mul(tf.scalar(3)) as tf.Scalar;
    const expected = tf.valueAndGrads((u, v, b) => reference(u, v, b).mul(tf.scalar(3)) as tf.Scalar)([
      users,
      candidates,
      bias,
    ]);
    // The gradient matrix written into the backend as a new tensor: what the in-place pass does without.
    const writes = jest.spyOn(tf.backend(), 'write');
    const actual = tf.valueAndGrads(fused)([users, candidates, bias]);
    const written = writes.mock.calls.map(([values]) => (values as Float32Array | null)?.length);
    writes.mockRestore();
    expect(actual.value.dataSync()[0]).toBeCloseTo(expected.value.dataSync()[0] as number, 5);
    actual.grads.forEach((grad, index) => {
      const reference = (expected.grads[index] as tf.Tensor).dataSync();
      expect(reference.some((value) => value !== 0)).toBe(true);
      grad.dataSync().forEach((value, at) => expect(value).toBeCloseTo(reference[at] as number, 5));
    });
    // In place on the heap only when the columns fill whole 4-lane vectors.
    expect(written.filter((length) => length === 4 * columns)).toHaveLength(columns % 4 === 0 ? 0 : 1);
  });

  it('softmaxRowsInPlace: each row’s scaled softmax within 1e-6 relative, its column sums; left-out columns exactly 0', () => {
    const rows = 3;
    const columns = 7; // not a multiple of the 4-lane vectors
    const matrix = Float32Array.of(
      ...[0.5, -1, 3, 3, -200, 40, 1e-3],
      ...[-90, -87, -20, -Infinity, 0, 5, -5],
      ...[1, 1, 1, 1, 1, 1, -Infinity],
    );
    const expected = [0, 1, 2].map((row) => {
      const values = Array.from(matrix.subarray(row * columns, (row + 1) * columns));
      const max = Math.max(...values);
      const exps = values.map((value) => Math.exp(value - max));
      const sum = exps.reduce((a, b) => a + b, 0);
      return { max, sum, softmax: exps.map((value) => value / sum) };
    });
    const scales = Float32Array.of(1, 0.25, 2);
    const stats = softmaxRowsInPlace(matrix, rows, columns, scales);
    expected.forEach(({ max, sum, softmax }, row) => {
      expect(stats.max[row]).toBe(max);
      expect(Math.abs((stats.sum[row] as number) / sum - 1)).toBeLessThan(3e-7);
      softmax.forEach((value, column) => {
        const actual = matrix[row * columns + column] as number;
        const scaled = value * (scales[row] as number);
        expect(Math.abs(actual - scaled)).toBeLessThanOrEqual(1e-6 * scaled + 1e-30);
      });
    });
    // The column sums of the result (a bias's gradient).
    for (let column = 0; column < columns; column++) {
      const total = [0, 1, 2].reduce((sum, row) => sum + (matrix[row * columns + column] as number), 0);
      expect(stats.columnSums[column]).toBeCloseTo(total, 6);
    }
    expect(matrix[1 * columns + 3]).toBe(0);
    expect(matrix[2 * columns + 6]).toBe(0);
    // e^x over float32's range, against Math.exp (one row per value: the row's max is 0, the other column x).
    const xs = Array.from({ length: 400 }, (_, index) => -87 + index * 0.2175);
    const pairs = Float32Array.from(xs.flatMap((x) => [0, x]));
    softmaxRowsInPlace(pairs, xs.length, 2, new Float32Array(xs.length).fill(1));
    xs.forEach((x, row) => {
      const exp = Math.exp(Math.fround(x));
      const expected = exp / (1 + exp);
      expect(Math.abs((pairs[2 * row + 1] as number) - expected) / expected).toBeLessThan(1e-6);
    });
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

  it('slices and splits 1-D and 2-D tensors on wasm in place, as the indices say (higher ranks through the stock kernel), without copying the input out', () => {
    const matrix = tf.tensor2d(
      Float32Array.from({ length: 20 }, (_, index) => index),
      [4, 5],
    );
    const backend = tf.backend() as unknown as { readSync: (dataId: object) => unknown };
    const readSync = jest.spyOn(backend, 'readSync');
    try {
      expect(tf.slice(matrix, [1, 2], [2, 3]).arraySync()).toEqual([
        [7, 8, 9],
        [12, 13, 14],
      ]);
      expect(tf.slice(matrix, [2, 0], [-1, 2]).arraySync()).toEqual([
        [10, 11],
        [15, 16],
      ]);
      expect(tf.slice(matrix, [3]).arraySync()).toEqual([[15, 16, 17, 18, 19]]);
      // The gradient of a concatenation splits it back apart.
      const [left, right] = tf.split(matrix, [2, -1], 1);
      expect(left?.arraySync()).toEqual([
        [0, 1],
        [5, 6],
        [10, 11],
        [15, 16],
      ]);
      expect(right?.arraySync()).toEqual([
        [2, 3, 4],
        [7, 8, 9],
        [12, 13, 14],
        [17, 18, 19],
      ]);
      expect(tf.split(matrix, 2, 0).map((piece) => piece.arraySync())).toEqual([
        [
          [0, 1, 2, 3, 4],
          [5, 6, 7, 8, 9],
        ],
        [
          [10, 11, 12, 13, 14],
          [15, 16, 17, 18, 19],
        ],
      ]);
      // arraySync reads each result once; the slices and splits themselves read nothing out.
      expect(readSync).toHaveBeenCalledTimes(7);
    } finally {
      readSync.mockRestore();
    }
    expect(tf.slice(tf.tensor1d([1, 2, 3, 4, 5], 'int32'), 1, 3).arraySync()).toEqual([2, 3, 4]);
    const cube = tf.tensor3d(
      Float32Array.from({ length: 8 }, (_, index) => index),
      [2, 2, 2],
    );
    expect(tf.slice(cube, [1, 0, 1], [1, 2, 1]).arraySync()).toEqual([[[5], [7]]]);
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
