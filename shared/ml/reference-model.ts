import * as tf from '@tensorflow/tfjs';

/**
 * The reference model used to compare backends and frameworks: user and item
 * embeddings, concatenated, through a small MLP to a click probability.
 * user Embedding(numUsers, dim), item Embedding(numItems, dim), concat,
 * Dense(hidden, relu), Dense(1, sigmoid); BCE loss, Adam.
 */
export interface ReferenceModelConfig {
  /** @default 943 (ml-100k users) */
  readonly numUsers?: number;
  /** @default 1682 (ml-100k items) */
  readonly numItems?: number;
  /** Embedding width. @default 32 */
  readonly embeddingDim?: number;
  /** Hidden Dense width. @default 64 */
  readonly hiddenUnits?: number;
  /** Adam learning rate. @default 0.001 */
  readonly learningRate?: number;
  /** Seed for the initialisers, for reproducible tests. @default 42 */
  readonly seed?: number;
}

export function createReferenceModel(config: ReferenceModelConfig = {}): tf.LayersModel {
  const numUsers = config.numUsers ?? 943;
  const numItems = config.numItems ?? 1682;
  const dim = config.embeddingDim ?? 32;
  const seed = config.seed ?? 42;
  const user = tf.input({ shape: [1], dtype: 'int32', name: 'user' });
  const item = tf.input({ shape: [1], dtype: 'int32', name: 'item' });
  const embed = (name: string, count: number, input: tf.SymbolicTensor, offset: number) =>
    tf.layers.flatten().apply(
      tf.layers
        .embedding({
          inputDim: count,
          outputDim: dim,
          name,
          embeddingsInitializer: tf.initializers.randomUniform({
            minval: -0.05,
            maxval: 0.05,
            seed: seed + offset,
          }),
        })
        .apply(input),
    ) as tf.SymbolicTensor;
  const joined = tf.layers
    .concatenate()
    .apply([embed('user_embedding', numUsers, user, 0), embed('item_embedding', numItems, item, 1)]);
  const hidden = tf.layers
    .dense({
      units: config.hiddenUnits ?? 64,
      activation: 'relu',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }),
    })
    .apply(joined);
  const output = tf.layers
    .dense({
      units: 1,
      activation: 'sigmoid',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 3 }),
    })
    .apply(hidden) as tf.SymbolicTensor;
  const model = tf.model({ inputs: [user, item], outputs: output, name: 'reference_embedding_mlp' });
  model.compile({ optimizer: tf.train.adam(config.learningRate ?? 0.001), loss: 'binaryCrossentropy' });
  return model;
}

/** Random (user, item, label) examples for the reference model; deterministic by seed. */
export function randomReferenceExamples(
  count: number,
  numUsers: number,
  numItems: number,
  seed: number,
): { users: Int32Array; items: Int32Array; labels: Float32Array } {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const users = new Int32Array(count);
  const items = new Int32Array(count);
  const labels = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    users[i] = Math.floor(next() * numUsers);
    items[i] = Math.floor(next() * numItems);
    // A learnable signal: parity of user + item decides the label, so loss can fall.
    labels[i] = ((users[i] as number) + (items[i] as number)) % 2;
  }
  return { users, items, labels };
}
