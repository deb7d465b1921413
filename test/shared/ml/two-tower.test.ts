import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../shared/ml/backend';
import { buildInteractionLog, leaveLastOut } from '../../../shared/ml/interactions';
import { DEFAULT_TRAINING_CONFIG, trainTwoTower, twoTowerScorer } from '../../../shared/ml/train-two-tower';
import { fillContext, TwoTowerModel } from '../../../shared/ml/two-tower';
import { SYNTHETIC_PRESETS, SyntheticWorld } from '../../../shared/synthetic/generator';

const shape = { numUsers: 30, numItems: 50, embeddingDim: 8, sequenceLength: 5 };

function inputs(): { context: tf.Tensor2D; users: tf.Tensor1D } {
  return {
    context: tf.tensor2d([0, 0, 3, 4, 5, 1, 2, 3, 4, 5, 0, 0, 0, 0, 0], [3, 5], 'int32'),
    users: tf.tensor1d([1, 2, 0], 'int32'),
  };
}

describe('TwoTowerModel', () => {
  beforeAll(async () => {
    await initBackend({ force: 'wasm' });
  });

  it('round-trips through its TF.js weights manifest with identical predictions', async () => {
    const model = new TwoTowerModel(
      {
        ...shape,
        itemCategories: new Int32Array(50).map((_, i) => (i % 3) + 1),
        numCategories: 3,
        itemFeatures: new Float32Array(50 * 2).map((_, i) => Math.sin(i)),
        itemFeatureDim: 2,
        userFeatures: new Float32Array(31 * 2).map((_, i) => Math.cos(i)),
        userFeatureDim: 2,
      },
      undefined,
      7,
    );
    const { context, users } = inputs();
    const before = model.scoreAll(context, users);
    const { specs, data } = await model.serialize();
    const loaded = TwoTowerModel.deserialize(model.shape, specs, data);
    const after = loaded.scoreAll(context, users);
    expect(Array.from(await after.data())).toEqual(Array.from(await before.data()));
    expect(specs.map((spec) => spec.name)).toEqual(
      expect.arrayContaining(['category_embedding', 'item_feature_kernel']),
    );
    tf.dispose([before, after, context, users]);
    model.dispose();
    loaded.dispose();
  });

  it('leaks no tensors on its prediction paths', async () => {
    const model = new TwoTowerModel(shape);
    const { context, users } = inputs();
    const scorer = twoTowerScorer(model);
    const out = [new Float32Array(50), new Float32Array(50)];
    // Warm up once (kernels may allocate caches on first use).
    model.scoreAll(context, users).dispose();
    const before = tf.memory().numTensors;
    model.scoreAll(context, users).dispose();
    model.userVectors(context, users).dispose();
    model.itemVectors().dispose();
    model.itemBiases().dispose();
    scorer.scoreBatch?.(Int32Array.of(0, 1), [Int32Array.of(1, 2), Int32Array.of(3)], out);
    scorer.score(2, Int32Array.of(4), out[0] as Float32Array);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([context, users]);
    model.dispose();
  });

  it('left-pads contexts with the most recent items last', () => {
    const out = new Int32Array(4);
    fillContext([7, 8, 9], 2, 4, out, 0);
    expect(Array.from(out)).toEqual([0, 0, 8, 9]);
    fillContext([1, 2, 3, 4, 5, 6], 6, 4, out, 0);
    expect(Array.from(out)).toEqual([4, 5, 6, 7]);
  });

  it('learns synthetic sequences: validation NDCG rises and it beats a constant ranking', async () => {
    const world = new SyntheticWorld({ ...SYNTHETIC_PRESETS.tiny, users: 120, interactions: 4_000 });
    const log = buildInteractionLog(
      [...world.interactions()].map((row) => ({
        user_id: row.userId,
        item_id: row.itemId,
        timestamp: row.timestamp,
      })),
    );
    const split = leaveLastOut(log);
    const before = tf.memory().numTensors;
    const trained = await trainTwoTower(
      split,
      { numUsers: log.userIds.length, numItems: log.itemIds.length },
      {
        ...DEFAULT_TRAINING_CONFIG,
        embeddingDim: 16,
        batchSize: 128,
        epochs: 6,
        patience: 6,
      },
    );
    const ndcg = trained.history.map((epoch) => epoch.validation.ndcg10);
    expect(Math.max(...ndcg)).toBeGreaterThan(ndcg[0] as number);
    expect(trained.bestEpoch).toBe(ndcg.indexOf(Math.max(...ndcg)) + 1);
    trained.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
