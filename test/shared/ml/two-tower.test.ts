import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../shared/ml/backend';
import { buildInteractionLog, leaveLastOut } from '../../../shared/ml/interactions';
import { DEFAULT_TRAINING_CONFIG, trainTwoTower, twoTowerScorer } from '../../../shared/ml/train-two-tower';
import { SeededRandom } from '../../../shared/data/random';
import { dropoutMask, fillContext, TwoTowerModel } from '../../../shared/ml/two-tower';
import { SYNTHETIC_PRESETS, SyntheticWorld } from '../../../shared/synthetic/generator';

const shape = { numUsers: 30, numItems: 50, embeddingDim: 8, sequenceLength: 5 };

function inputs(): { context: tf.Tensor2D; users: tf.Tensor1D } {
  return {
    context: tf.tensor2d([0, 0, 3, 4, 5, 1, 2, 3, 4, 5, 0, 0, 0, 0, 0], [3, 5], 'int32'),
    users: tf.tensor1d([1, 2, 0], 'int32'),
  };
}

/** A tiny synthetic world's interaction log and its leave-last-out split. */
function syntheticLog(users: number, interactions: number) {
  const world = new SyntheticWorld({ ...SYNTHETIC_PRESETS.tiny, users, interactions });
  const log = buildInteractionLog(
    [...world.interactions()].map((row) => ({
      user_id: row.userId,
      item_id: row.itemId,
      timestamp: row.timestamp,
    })),
  );
  return { log, split: leaveLastOut(log) };
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

  it('draws dropout masks that drop the given share, keep the expected value, and repeat from a seed', () => {
    const maskOf = (seed: number, shape: [number, number]) => {
      const mask = dropoutMask(shape, 0.3, new SeededRandom(seed));
      const values = [...mask.dataSync()];
      mask.dispose();
      return values;
    };
    const values = maskOf(1, [301, 333]); // an odd count: the last draw's second half is left over
    expect(values).toHaveLength(301 * 333);
    const dropped = values.filter((value) => value === 0).length / values.length;
    expect(dropped).toBeGreaterThan(0.295);
    expect(dropped).toBeLessThan(0.305);
    // Inverted dropout: the kept values are scaled so the mask's mean is 1.
    expect(new Set(values.filter((value) => value !== 0)).size).toBe(1);
    const mean = values.reduce((total, value) => total + value, 0) / values.length;
    expect(mean).toBeCloseTo(1, 1);
    expect(maskOf(1, [301, 333])).toEqual(values);
    expect(maskOf(2, [301, 333])).not.toEqual(values);
    // Neighbouring values (the two halves of one draw) are independent: both dropped about 0.3² of the time.
    let bothDropped = 0;
    for (let index = 0; index + 1 < values.length; index += 2)
      if (values[index] === 0 && values[index + 1] === 0) bothDropped++;
    expect(bothDropped / Math.floor(values.length / 2)).toBeCloseTo(0.09, 2);
  });

  it('left-pads contexts with the most recent items last', () => {
    const out = new Int32Array(4);
    fillContext([7, 8, 9], 2, 4, out, 0);
    expect(Array.from(out)).toEqual([0, 0, 8, 9]);
    fillContext([1, 2, 3, 4, 5, 6], 6, 4, out, 0);
    expect(Array.from(out)).toEqual([4, 5, 6, 7]);
  });

  it('learns synthetic sequences: validation NDCG rises and it beats a constant ranking', async () => {
    const { log, split } = syntheticLog(120, 4_000);
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

  it('trains the same model from the same seed (shuffles, sampled negatives, dropout, parts), another from another', async () => {
    const { log, split } = syntheticLog(80, 2_000);
    const train = async (seed: number) => {
      const trained = await trainTwoTower(
        split,
        { numUsers: log.userIds.length, numItems: log.itemIds.length },
        {
          ...DEFAULT_TRAINING_CONFIG,
          embeddingDim: 8,
          batchSize: 64,
          epochs: 2,
          fullSoftmaxMaxItems: 0,
          sampledNegatives: 16,
          // Four groups of in-batch negatives: more parts than threads, queued per worker.
          inBatchNegatives: 16,
          seed,
        },
      );
      const weights = trained.model.weights.get('user_embedding')?.dataSync().slice();
      trained.model.dispose();
      return Array.from(weights ?? []);
    };
    const first = await train(5);
    expect(await train(5)).toEqual(first);
    expect(await train(6)).not.toEqual(first);
  });

  it('gives an item with several categories (genres) the mean of their embeddings', () => {
    // Items 0 and 1: one category each; item 2: both (slots of 2, 0 = padding).
    const model = new TwoTowerModel(
      {
        numUsers: 1,
        numItems: 3,
        embeddingDim: 4,
        sequenceLength: 2,
        itemCategories: Int32Array.of(1, 0, 2, 0, 1, 2),
        numCategories: 2,
        categorySlots: 2,
      },
      undefined,
      3,
    );
    const table = model.weights.get('item_embedding')?.arraySync() as number[][];
    const categories = model.weights.get('category_embedding')?.arraySync() as number[][];
    const vectors = model.itemVectors().arraySync() as number[][];
    const expected = (item: number, values: number[]) =>
      (table[item + 1] as number[]).map(
        (value, d) =>
          value +
          values.reduce((sum, category) => sum + ((categories[category] as number[])[d] as number), 0) /
            values.length,
      );
    vectors.forEach((vector, item) =>
      vector.forEach((value, d) =>
        expect(value).toBeCloseTo(expected(item, item === 2 ? [1, 2] : [item + 1])[d] as number, 5),
      ),
    );
    model.dispose();
  });

  it('learns from negatives: an item users dismissed ranks lower for them than when they had not', async () => {
    // 60 users with positives among items 1..29; the first 30 also like item 0. In the second data set the
    // other 30 dismissed item 0 (a negative, weight 5); in the first they never met it.
    const T = 1_700_000_000;
    const rows = (withNegatives: boolean) => {
      const out: { user_id: string; item_id: string; timestamp: number; event_type: string }[] = [];
      for (let user = 0; user < 60; user++) {
        for (let step = 0; step < 8; step++) {
          const item = 1 + ((user * 7 + step * 5) % 29);
          out.push({ user_id: `u${user}`, item_id: `i${item}`, timestamp: T + step, event_type: 'view' });
        }
        if (user < 30)
          out.push({ user_id: `u${user}`, item_id: 'i0', timestamp: T + 3.5, event_type: 'view' });
        else if (withNegatives)
          out.push({ user_id: `u${user}`, item_id: 'i0', timestamp: T + 3.5, event_type: 'dismissed' });
      }
      return out;
    };
    const policy = {
      dismissed: { role: 'negative' as const, weight: 5, belowThreshold: 'negative' as const },
    };
    const meanRankOfItem0 = async (withNegatives: boolean) => {
      const log = buildInteractionLog(rows(withNegatives), policy);
      const split = leaveLastOut(log);
      const trained = await trainTwoTower(
        split,
        { numUsers: log.userIds.length, numItems: log.itemIds.length },
        { ...DEFAULT_TRAINING_CONFIG, embeddingDim: 16, batchSize: 32, epochs: 10, patience: 10, dropout: 0 },
      );
      const scorer = twoTowerScorer(trained.model);
      const item0 = log.itemIds.indexOf('i0');
      const scores = new Float32Array(log.itemIds.length);
      let rankSum = 0;
      for (let user = 30; user < 60; user++) {
        const index = log.userIds.indexOf(`u${user}`);
        scorer.score(index, split.train[index] as Int32Array, scores);
        rankSum += scores.filter((score) => score > (scores[item0] as number)).length;
      }
      trained.model.dispose();
      return rankSum / 30;
    };
    const without = await meanRankOfItem0(false);
    const dismissed = await meanRankOfItem0(true);
    expect(dismissed).toBeGreaterThan(without + 5);
  });
});
