import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../shared/ml/backend';
import { ADAM_DEFAULTS, LazyAdamTable, RowSlots } from '../../../shared/ml/lazy-adam';
import {
  towerItemBiases,
  towerItemVectors,
  type TowerTables,
  towerUserVectors,
  TwoTowerModel,
} from '../../../shared/ml/two-tower';

const settings = { ...ADAM_DEFAULTS, learningRate: 0.05 };

function rowsOf(values: Float32Array, width: number, row: number): number[] {
  return [...values.subarray(row * width, (row + 1) * width)];
}

function expectRowsClose(actual: number[], expected: number[]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((value, index) => expect(value).toBeCloseTo(expected[index] as number, 5));
}

describe('row-sparse training: lazy Adam', () => {
  beforeAll(async () => {
    await initBackend({ force: 'wasm' });
  });

  it('updates the touched rows exactly as tf.train.adam does and leaves every other row (and its moments) alone', () => {
    const width = 3;
    const initial = Float32Array.from({ length: 6 * width }, (_, index) => Math.sin(index + 1));
    const lazy = new LazyAdamTable(initial.slice(), width);
    const dense = tf.variable(tf.tensor2d(initial, [6, width]));
    const optimizer = tf.train.adam(settings.learningRate, settings.beta1, settings.beta2, settings.epsilon);
    const step = (step: number, rows: number[], gradient: number[]) => {
      lazy.update(Int32Array.from(rows), Float32Array.from(gradient), step, settings);
      const full = new Float32Array(6 * width);
      rows.forEach((row, slot) => full.set(gradient.slice(slot * width, (slot + 1) * width), row * width));
      optimizer.applyGradients([{ name: dense.name, tensor: tf.tensor2d(full, [6, width]) }]);
    };

    step(1, [4, 1], [0.5, -1, 2, 0.1, 0.2, -0.3]);
    let denseValues = dense.dataSync() as Float32Array;
    for (const row of [1, 4])
      expectRowsClose(rowsOf(lazy.values, width, row), rowsOf(denseValues, width, row));
    for (const row of [0, 2, 3, 5])
      expect(rowsOf(lazy.values, width, row)).toEqual(rowsOf(initial, width, row));
    const row4AfterFirstStep = rowsOf(lazy.values, width, 4);

    // Step 2 touches row 1 only: dense Adam still moves row 4 on its momentum, lazy Adam does not.
    step(2, [1], [-0.4, 0.3, 0.9]);
    denseValues = dense.dataSync() as Float32Array;
    expectRowsClose(rowsOf(lazy.values, width, 1), rowsOf(denseValues, width, 1));
    expect(rowsOf(lazy.values, width, 4)).toEqual(row4AfterFirstStep);
    expect(rowsOf(denseValues, width, 4)).not.toEqual(row4AfterFirstStep);

    // Step 3 touches row 4 again: its moments are the ones step 1 left (not decayed by step 2).
    step(3, [4], [0.5, -1, 2]);
    const reference = new LazyAdamTable(initial.slice(), width);
    reference.update(Int32Array.of(4), Float32Array.of(0.5, -1, 2), 1, settings);
    reference.update(Int32Array.of(4), Float32Array.of(0.5, -1, 2), 3, settings);
    expect(rowsOf(lazy.values, width, 4)).toEqual(rowsOf(reference.values, width, 4));
    dense.dispose();
    optimizer.dispose();
  });

  it('gives a batch’s rows local slots in first-seen order and forgets them for the next batch', () => {
    const slots = new RowSlots(10);
    expect([7, 3, 7, 0, 3].map((row) => slots.slot(row))).toEqual([0, 1, 0, 2, 1]);
    expect([...slots.take()]).toEqual([7, 3, 0]);
    expect([3, 9].map((row) => slots.slot(row))).toEqual([0, 1]);
    expect([...slots.take()]).toEqual([3, 9]);
  });

  it('a batch’s local tables give the same loss and, on the touched rows, the same gradients as the whole model', () => {
    const numItems = 40;
    const numUsers = 12;
    const model = new TwoTowerModel(
      {
        numUsers,
        numItems,
        embeddingDim: 6,
        sequenceLength: 4,
        itemCategories: Int32Array.from({ length: numItems }, (_, item) => (item % 3) + 1),
        numCategories: 3,
        itemFeatures: Float32Array.from({ length: numItems * 2 }, (_, index) => Math.cos(index)),
        itemFeatureDim: 2,
      },
      undefined,
      11,
    );
    // Model rows (item index + 1, 0 = padding): histories, users and candidate items of a batch of three.
    const context = [0, 0, 5, 9, 3, 5, 9, 12, 0, 0, 0, 0];
    const users = [2, 7, 0];
    const candidates = [9, 12, 30, 5];
    const touchedItems = Int32Array.from(new Set([...context, ...candidates]));
    const touchedUsers = Int32Array.from(new Set(users));
    const slotOf = (rows: Int32Array) => new Map([...rows].map((row, slot) => [row, slot]));
    const itemSlot = slotOf(touchedItems);
    const userSlot = slotOf(touchedUsers);

    const lossOver =
      (
        tables: TowerTables,
        contextRows: number[],
        userRows: number[],
        candidateRows: number[],
        project: boolean,
      ) =>
      (itemEmbedding: tf.Tensor, itemBias: tf.Tensor, userEmbedding: tf.Tensor): tf.Scalar => {
        const withRows: TowerTables = {
          ...tables,
          itemEmbedding: itemEmbedding as tf.Tensor2D,
          itemBias: itemBias as tf.Tensor1D,
          userEmbedding: userEmbedding as tf.Tensor2D,
        };
        const userVectors = towerUserVectors(
          withRows,
          tf.tensor2d(contextRows, [3, 4], 'int32'),
          tf.tensor1d(userRows, 'int32'),
          { projectTableRows: project },
        );
        const rows = tf.tensor1d(candidateRows, 'int32');
        const logits = userVectors
          .matMul(towerItemVectors(withRows, rows), false, true)
          .add(towerItemBiases(withRows, rows));
        return tf.logSumExp(logits, 1).sum().add(userVectors.square().sum()) as tf.Scalar;
      };

    const whole = model.tables;
    const wholeResult = tf.valueAndGrads(lossOver(whole, context, users, candidates, false))([
      whole.itemEmbedding,
      whole.itemBias,
      whole.userEmbedding,
    ]);
    const categories = (whole.itemCategories as tf.Tensor1D).dataSync();
    const features = (whole.itemFeatures as tf.Tensor2D).arraySync();
    const local: TowerTables = {
      ...whole,
      itemEmbedding: tf.gather(whole.itemEmbedding, touchedItems),
      itemBias: tf.gather(whole.itemBias, touchedItems),
      userEmbedding: tf.gather(whole.userEmbedding, touchedUsers),
      itemCategories: tf.tensor1d(
        Int32Array.from(touchedItems, (row) => categories[row] as number),
        'int32',
      ),
      itemFeatures: tf.tensor2d(Array.from(touchedItems, (row) => features[row] as number[])),
    };
    const localResult = tf.valueAndGrads(
      lossOver(
        local,
        context.map((row) => itemSlot.get(row) as number),
        users.map((row) => userSlot.get(row) as number),
        candidates.map((row) => itemSlot.get(row) as number),
        true,
      ),
    )([local.itemEmbedding, local.itemBias, local.userEmbedding]);

    expect(localResult.value.dataSync()[0]).toBeCloseTo(wholeResult.value.dataSync()[0] as number, 4);
    const compare = (
      wholeGradient: tf.Tensor,
      localGradient: tf.Tensor,
      touched: Int32Array,
      width: number,
    ) => {
      const dense = wholeGradient.dataSync() as Float32Array;
      const sparse = localGradient.dataSync() as Float32Array;
      const rows = dense.length / width;
      touched.forEach((row, slot) => expectRowsClose(rowsOf(sparse, width, slot), rowsOf(dense, width, row)));
      const untouched = Array.from({ length: rows }, (_, row) => row).filter((row) => !touched.includes(row));
      expect(untouched.flatMap((row) => rowsOf(dense, width, row)).every((value) => value === 0)).toBe(true);
    };
    compare(wholeResult.grads[0] as tf.Tensor, localResult.grads[0] as tf.Tensor, touchedItems, 6);
    compare(wholeResult.grads[1] as tf.Tensor, localResult.grads[1] as tf.Tensor, touchedItems, 1);
    compare(wholeResult.grads[2] as tf.Tensor, localResult.grads[2] as tf.Tensor, touchedUsers, 6);
    model.dispose();
  });
});
