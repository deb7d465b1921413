import * as tf from '@tensorflow/tfjs';
import { SeededRandom } from '../synthetic/random';
import { bestF1Threshold, rocAuc } from './classification-metrics';

/**
 * Conversion / purchase-intent / churn propensity: a small MLP on encoded
 * tabular features (TF.js), trained with class weights for the imbalance,
 * early-stopped on validation ROC AUC, an ensemble of a few seeds averaged in
 * logit space, then calibrated with Platt scaling on the validation rows and
 * given the F1-best decision threshold there.
 */
export interface PropensityConfig {
  readonly hidden: readonly number[];
  readonly dropout: number;
  readonly l2: number;
  readonly learningRate: number;
  readonly batchSize: number;
  readonly maxEpochs: number;
  readonly patience: number;
  /** Models trained with different seeds and averaged. */
  readonly ensemble: number;
  readonly seed: number;
}

export const DEFAULT_PROPENSITY_CONFIG: PropensityConfig = {
  hidden: [64, 32],
  dropout: 0.3,
  l2: 1e-4,
  learningRate: 1e-3,
  batchSize: 256,
  maxEpochs: 40,
  patience: 5,
  ensemble: 3,
  seed: 7,
};

export interface Matrix {
  readonly values: Float32Array;
  readonly rows: number;
  readonly width: number;
}

export interface EpochStats {
  readonly member: number;
  readonly epoch: number;
  readonly loss: number;
  readonly validationAuc: number;
}

/** Platt scaling: p = sigmoid(a · logit + b). */
export interface Platt {
  readonly a: number;
  readonly b: number;
}

export interface TrainedPropensity {
  readonly members: tf.Sequential[];
  readonly platt: Platt;
  readonly threshold: number;
  readonly history: EpochStats[];
}

const sigmoid = (value: number) => 1 / (1 + Math.exp(-value));

/** Fits Platt's two parameters by Newton's method on (logit, label) pairs, with his target smoothing. */
export function fitPlatt(logits: ArrayLike<number>, labels: ArrayLike<number>): Platt {
  let positives = 0;
  for (let index = 0; index < labels.length; index++) positives += labels[index] as number;
  const negatives = labels.length - positives;
  const high = (positives + 1) / (positives + 2);
  const low = 1 / (negatives + 2);
  let a = 1;
  let b = 0;
  for (let iteration = 0; iteration < 50; iteration++) {
    let gradientA = 0;
    let gradientB = 0;
    let hAA = 1e-9;
    let hAB = 0;
    let hBB = 1e-9;
    for (let index = 0; index < logits.length; index++) {
      const x = logits[index] as number;
      const target = labels[index] === 1 ? high : low;
      const p = sigmoid(a * x + b);
      const error = p - target;
      const weight = p * (1 - p);
      gradientA += error * x;
      gradientB += error;
      hAA += weight * x * x;
      hAB += weight * x;
      hBB += weight;
    }
    const determinant = hAA * hBB - hAB * hAB;
    if (Math.abs(determinant) < 1e-12) break;
    const stepA = (hBB * gradientA - hAB * gradientB) / determinant;
    const stepB = (hAA * gradientB - hAB * gradientA) / determinant;
    a -= stepA;
    b -= stepB;
    if (Math.abs(stepA) + Math.abs(stepB) < 1e-9) break;
  }
  return { a, b };
}

function buildMember(width: number, config: PropensityConfig, seed: number): tf.Sequential {
  const model = tf.sequential();
  config.hidden.forEach((units, layer) => {
    model.add(
      tf.layers.dense({
        ...(layer === 0 ? { inputShape: [width] } : {}),
        units,
        activation: 'relu',
        kernelInitializer: tf.initializers.heNormal({ seed: seed + layer }),
        kernelRegularizer: tf.regularizers.l2({ l2: config.l2 }),
      }),
    );
    if (config.dropout > 0) model.add(tf.layers.dropout({ rate: config.dropout, seed: seed + 100 + layer }));
  });
  model.add(
    tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotNormal({ seed: seed + 999 }) }),
  );
  model.compile({
    optimizer: tf.train.adam(config.learningRate),
    loss: (labels: tf.Tensor, logits: tf.Tensor) => tf.losses.sigmoidCrossEntropy(labels, logits),
  });
  return model;
}

/** Mean logit of the ensemble for each row. */
export function ensembleLogits(members: readonly tf.Sequential[], x: Matrix): Float32Array {
  const out = new Float32Array(x.rows);
  const input = tf.tensor2d(x.values, [x.rows, x.width]);
  try {
    for (const member of members) {
      const logits = member.predict(input, { batchSize: 4096 }) as tf.Tensor;
      const values = logits.dataSync();
      logits.dispose();
      for (let row = 0; row < x.rows; row++)
        out[row] = (out[row] as number) + (values[row] as number) / members.length;
    }
  } finally {
    input.dispose();
  }
  return out;
}

export function calibrated(logits: ArrayLike<number>, platt: Platt): Float64Array {
  return Float64Array.from(logits, (logit) => sigmoid(platt.a * logit + platt.b));
}

function rowsOf(x: Matrix, indices: readonly number[]): Float32Array {
  const out = new Float32Array(indices.length * x.width);
  indices.forEach((row, position) =>
    out.set(x.values.subarray(row * x.width, (row + 1) * x.width), position * x.width),
  );
  return out;
}

export async function trainPropensity(
  train: Matrix,
  trainLabels: Uint8Array,
  validation: Matrix,
  validationLabels: Uint8Array,
  config: PropensityConfig = DEFAULT_PROPENSITY_CONFIG,
  onEpoch?: (stats: EpochStats) => void,
): Promise<TrainedPropensity> {
  let positives = 0;
  for (const label of trainLabels) positives += label;
  if (positives === 0 || positives === trainLabels.length) {
    throw new Error('the training rows hold only one class; propensity needs both outcomes');
  }
  // Class weights: each class contributes equally to the loss.
  const positiveWeight = (trainLabels.length - positives) / positives;
  const members: tf.Sequential[] = [];
  const history: EpochStats[] = [];
  const validationInput = tf.tensor2d(validation.values, [validation.rows, validation.width]);
  try {
    for (let member = 0; member < config.ensemble; member++) {
      const seed = config.seed + member * 1_000;
      const model = buildMember(train.width, config, seed);
      const random = new SeededRandom(seed);
      let best = { auc: -1, weights: [] as tf.Tensor[] };
      let sinceBest = 0;
      for (let epoch = 1; epoch <= config.maxEpochs; epoch++) {
        // Our own seeded shuffle, so a run is reproducible.
        const order = Array.from({ length: train.rows }, (_, row) => row);
        for (let index = order.length - 1; index > 0; index--) {
          const swap = random.int(index + 1);
          [order[index], order[swap]] = [order[swap] as number, order[index] as number];
        }
        const x = tf.tensor2d(rowsOf(train, order), [train.rows, train.width]);
        const y = tf.tensor2d(
          Float32Array.from(order, (row) => trainLabels[row] as number),
          [train.rows, 1],
        );
        const fitted = await model.fit(x, y, {
          batchSize: config.batchSize,
          epochs: 1,
          shuffle: false,
          classWeight: { 0: 1, 1: positiveWeight },
          verbose: 0,
        });
        tf.dispose([x, y]);
        const logits = model.predict(validationInput, { batchSize: 4096 }) as tf.Tensor;
        const auc = rocAuc(logits.dataSync(), validationLabels);
        logits.dispose();
        const stats = {
          member,
          epoch,
          loss: Number(fitted.history.loss?.[0] ?? Number.NaN),
          validationAuc: auc,
        };
        history.push(stats);
        onEpoch?.(stats);
        if (auc > best.auc) {
          tf.dispose(best.weights);
          best = { auc, weights: model.getWeights().map((weight) => weight.clone()) };
          sinceBest = 0;
        } else if (++sinceBest >= config.patience) break;
      }
      model.setWeights(best.weights);
      tf.dispose(best.weights);
      members.push(model);
    }
  } finally {
    validationInput.dispose();
  }
  const validationLogits = ensembleLogits(members, validation);
  const platt = fitPlatt(validationLogits, validationLabels);
  const threshold = bestF1Threshold(calibrated(validationLogits, platt), validationLabels);
  return { members, platt, threshold, history };
}

export function disposePropensity(trained: TrainedPropensity): void {
  for (const member of trained.members) member.dispose();
}
