import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../shared/ml/backend';
import { fillContext, TwoTowerModel } from '../../../shared/ml/two-tower';
import { decodeWeights, UserTower } from '../../../shared/serving/user-tower';

const d = 8;
const n = 5;
const numUsers = 6;
const numItems = 12;

/** A model whose every weight (biases included) is random, so no term can hide behind a zero. */
function randomModel(userFeatureDim: number): TwoTowerModel {
  const dims: Record<string, number[]> = {
    item_embedding: [numItems + 1, d],
    item_bias: [numItems + 1],
    position_embedding: [n, d],
    user_embedding: [numUsers + 1, d],
    attention_kernel: [d, d],
    attention_bias: [d],
    attention_query: [d, 1],
    output_kernel: [3 * d + userFeatureDim, d],
    output_bias: [d],
  };
  const initial = new Map(
    Object.entries(dims).map(([name, shape], index) => [
      name,
      tf.randomNormal(shape, 0, 0.5, 'float32', index),
    ]),
  );
  return new TwoTowerModel(
    {
      numUsers,
      numItems,
      embeddingDim: d,
      sequenceLength: n,
      ...(userFeatureDim > 0
        ? {
            userFeatures: new Float32Array((numUsers + 1) * userFeatureDim).map((_, i) => Math.sin(i)),
            userFeatureDim,
          }
        : {}),
    },
    initial,
  );
}

describe('UserTower (the serving copy of the user tower)', () => {
  beforeAll(async () => {
    await initBackend({ force: 'wasm' });
  });

  it.each([0, 2])(
    'computes the same vectors as TwoTowerModel.userVectors (%i user features)',
    async (featureDim) => {
      const model = randomModel(featureDim);
      const { specs, data } = await model.serialize();
      const tower = new UserTower(
        { numUsers, numItems, embeddingDim: d, sequenceLength: n, userFeatureDim: featureDim },
        decodeWeights(specs, new Uint8Array(data)),
        model.shape.userFeatures,
      );
      const cases: [number[], number | undefined][] = [
        [[], undefined],
        [[3], 0],
        [[1, 2, 3], 5],
        [[0, 11, 4, 4, 7, 9, 10, 2], 2],
        [[6, 5], undefined],
      ];
      const context = new Int32Array(cases.length * n);
      cases.forEach(([history], row) => fillContext(history, history.length, n, context, row * n));
      const expected = tf.tidy(() =>
        model.userVectors(
          tf.tensor2d(context, [cases.length, n], 'int32'),
          tf.tensor1d(
            cases.map(([, user]) => (user === undefined ? 0 : user + 1)),
            'int32',
          ),
        ),
      );
      const rows = (await expected.array()) as number[][];
      expected.dispose();
      cases.forEach(([history, user], row) => {
        const vector = tower.vector(history, user);
        expect(vector).toHaveLength(d + 1);
        expect(vector[d]).toBe(1);
        (rows[row] as number[]).forEach((value, dimension) =>
          expect(vector[dimension]).toBeCloseTo(value, 4),
        );
      });
      model.dispose();
    },
  );

  it('rejects weights that do not match their manifest', () => {
    const specs = [{ name: 'a', shape: [2, 2], dtype: 'float32' }];
    expect(() => decodeWeights(specs, new Uint8Array(8))).toThrow('weights.bin is too short for weight a');
    expect(() => decodeWeights(specs, new Uint8Array(20))).toThrow('more values than its manifest describes');
    expect(() => decodeWeights([{ name: 'q', shape: [1], dtype: 'int32' }], new Uint8Array(4))).toThrow(
      'only float32 is served',
    );
    expect(
      () =>
        new UserTower(
          { numUsers: 1, numItems: 1, embeddingDim: 2, sequenceLength: 1, userFeatureDim: 0 },
          new Map([['item_embedding', new Float32Array(3)]]),
        ),
    ).toThrow('weight item_embedding has 3 values, expected 4');
  });
});
