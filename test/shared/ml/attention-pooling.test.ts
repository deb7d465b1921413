import * as tf from '@tensorflow/tfjs';
import { fastTanh } from '../../../shared/ml/attention-pooling';
import { initBackend } from '../../../shared/ml/backend';
import { type TowerTables, towerUserVectors, TwoTowerModel } from '../../../shared/ml/two-tower';

describe('fused attention pooling', () => {
  beforeAll(async () => {
    await initBackend({ force: 'wasm' });
  });

  it('fastTanh matches Math.tanh to a few float32 ulps, saturating far out', () => {
    for (let x = -12; x <= 12; x += 0.001) expect(Math.abs(fastTanh(x) - Math.tanh(x))).toBeLessThan(3e-7);
    expect(fastTanh(0)).toBe(0);
    expect(fastTanh(1e6)).toBeCloseTo(1, 6);
    expect(fastTanh(-1e-9)).toBeCloseTo(-1e-9, 15);
  });

  it.each([
    ['wasm', 6, 'JavaScript loops'],
    ['cpu', 6, 'JavaScript loops'],
    ['wasm', 8, 'vectorised kernel'],
    ['cpu', 8, 'vectorised kernel'],
  ])(
    'on %s, width %i (%s): the user vectors and the gradient of every weight equal the composed TF.js ops (padding, an empty history)',
    async (backend, width) => {
      await initBackend({ force: backend as 'wasm' | 'cpu' });
      const n = 4;
      const model = new TwoTowerModel(
        { numUsers: 5, numItems: 9, embeddingDim: width as number, sequenceLength: n },
        undefined,
        3,
      );
      // Repeated items within and across rows, left padding, a row with no history at all.
      const context = tf.tensor2d([0, 0, 3, 7, 2, 3, 3, 9, 0, 0, 0, 0, 5, 1, 8, 2], [4, n], 'int32');
      const users = tf.tensor1d([1, 2, 0, 4], 'int32');
      const names = [
        'item_embedding',
        'position_embedding',
        'attention_kernel',
        'attention_bias',
        'attention_query',
      ];
      const variables = names.map((name) => model.weights.get(name as never) as tf.Variable);
      const run = (fused: boolean) => {
        const loss = (...values: tf.Tensor[]) => {
          const dense = new Map(model.tables.dense);
          names.slice(1).forEach((name, index) => dense.set(name as never, values[index + 1] as tf.Tensor));
          const tables: TowerTables = { ...model.tables, itemEmbedding: values[0] as tf.Tensor2D, dense };
          const vectors = towerUserVectors(tables, context, users, { projectTableRows: fused });
          // A loss that weighs every output differently, so each gradient entry is checked.
          return vectors
            .mul(tf.linspace(-1, 2, 4 * (width as number)).reshape([4, width as number]))
            .sum()
            .add(vectors.square().sum()) as tf.Scalar;
        };
        const { value, grads } = tf.valueAndGrads(loss)(variables);
        return {
          value: value.dataSync()[0] as number,
          grads: grads.map((grad) => Array.from(grad.dataSync())),
        };
      };
      const fused = run(true);
      const composed = run(false);
      expect(fused.value).toBeCloseTo(composed.value, 4);
      fused.grads.forEach((grad, index) => {
        const reference = composed.grads[index] as number[];
        expect(grad).toHaveLength(reference.length);
        expect(reference.some((value) => value !== 0)).toBe(true);
        grad.forEach((value, at) => expect(value).toBeCloseTo(reference[at] as number, 4));
      });
      model.dispose();
      await initBackend({ force: 'wasm' });
    },
  );
});
