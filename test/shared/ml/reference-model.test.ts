import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../shared/ml/backend';
import { createReferenceModel, randomReferenceExamples } from '../../../shared/ml/reference-model';

describe('embedding model training on wasm', () => {
  it('trains an Embedding model and the loss falls', async () => {
    // Prepare
    await initBackend({ force: 'wasm' });
    const numUsers = 50;
    const numItems = 80;
    const count = 8_000;
    const { users, items, labels } = randomReferenceExamples(count, numUsers, numItems, 3);
    const model = createReferenceModel({
      numUsers,
      numItems,
      embeddingDim: 8,
      hiddenUnits: 16,
      learningRate: 0.01,
    });
    const inputs = [tf.tensor2d(users, [count, 1], 'int32'), tf.tensor2d(items, [count, 1], 'int32')];
    const target = tf.tensor2d(labels, [count, 1]);

    // Act
    const history = await model.fit(inputs, target, { batchSize: 256, epochs: 5, verbose: 0 });

    // Assess
    expect(tf.getBackend()).toBe('wasm');
    const losses = history.history.loss as number[];
    expect(losses).toHaveLength(5);
    expect(losses[4]).toBeLessThan((losses[0] as number) * 0.7);
    tf.dispose([...inputs, target]);
    model.dispose();
  });
});
