import { float32FromBytes } from '../data/binary';

/**
 * The two-tower model's user tower as plain Float32Array arithmetic, so the API
 * can compute a vector for a user whose history changed since training (or a
 * new user with a few events) without bundling TF.js. It mirrors
 * `TwoTowerModel.userVectors` op for op; a test checks the two agree.
 */
export interface WeightSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: string;
}

export interface UserTowerShape {
  readonly numUsers: number;
  readonly numItems: number;
  readonly embeddingDim: number;
  readonly sequenceLength: number;
  /** Width of the per-user numeric features (0 when the model has none). */
  readonly userFeatureDim: number;
}

/** Splits a TF.js weights buffer (float32 only, in manifest order) into named arrays. */
export function decodeWeights(specs: readonly WeightSpec[], data: Uint8Array): Map<string, Float32Array> {
  const aligned = float32FromBytes(data);
  const weights = new Map<string, Float32Array>();
  let offset = 0;
  for (const spec of specs) {
    if (spec.dtype !== 'float32')
      throw new Error(`weight ${spec.name} is ${spec.dtype}; only float32 is served`);
    const size = spec.shape.reduce((product, dimension) => product * dimension, 1);
    if (offset + size > aligned.length) throw new Error(`weights.bin is too short for weight ${spec.name}`);
    weights.set(spec.name, aligned.subarray(offset, offset + size));
    offset += size;
  }
  if (offset !== aligned.length) throw new Error('weights.bin holds more values than its manifest describes');
  return weights;
}

export class UserTower {
  private readonly itemEmbedding: Float32Array;
  private readonly positionEmbedding: Float32Array;
  private readonly userEmbedding: Float32Array;
  private readonly attentionKernel: Float32Array;
  private readonly attentionBias: Float32Array;
  private readonly attentionQuery: Float32Array;
  private readonly outputKernel: Float32Array;
  private readonly outputBias: Float32Array;

  constructor(
    readonly shape: UserTowerShape,
    weights: ReadonlyMap<string, Float32Array>,
    /** (numUsers + 1) × userFeatureDim, row 0 the unknown user; empty when the model has none. */
    private readonly userFeatures: Float32Array = new Float32Array(0),
  ) {
    const d = shape.embeddingDim;
    const take = (name: string, size: number): Float32Array => {
      const value = weights.get(name);
      if (!value) throw new Error(`model weights lack ${name}`);
      if (value.length !== size)
        throw new Error(`weight ${name} has ${value.length} values, expected ${size}`);
      return value;
    };
    this.itemEmbedding = take('item_embedding', (shape.numItems + 1) * d);
    this.positionEmbedding = take('position_embedding', shape.sequenceLength * d);
    this.userEmbedding = take('user_embedding', (shape.numUsers + 1) * d);
    this.attentionKernel = take('attention_kernel', d * d);
    this.attentionBias = take('attention_bias', d);
    this.attentionQuery = take('attention_query', d);
    this.outputKernel = take('output_kernel', (3 * d + shape.userFeatureDim) * d);
    this.outputBias = take('output_bias', d);
    if (userFeatures.length !== 0 && userFeatures.length !== (shape.numUsers + 1) * shape.userFeatureDim) {
      throw new Error('user features are not aligned with the model users');
    }
  }

  /**
   * The user vector with a trailing 1 (for the item bias), length d + 1.
   * @param history item indices (0-based), oldest first; only the last N are used
   * @param user user index (0-based) from training, or undefined for a user the model has not seen
   */
  vector(history: readonly number[], user: number | undefined): Float32Array {
    const d = this.shape.embeddingDim;
    const n = this.shape.sequenceLength;
    const recent = history.slice(-n);
    const pad = n - recent.length;
    // Row of each position in the item embedding (0 = padding), as in fillContext.
    const rows = Array.from({ length: n }, (_, position) =>
      position < pad ? 0 : (recent[position - pad] as number) + 1,
    );

    const logits = new Float64Array(n);
    const hidden = new Float64Array(d);
    for (let position = pad; position < n; position++) {
      const embedding = (rows[position] as number) * d;
      for (let out = 0; out < d; out++) hidden[out] = this.attentionBias[out] as number;
      for (let inner = 0; inner < d; inner++) {
        const value =
          (this.itemEmbedding[embedding + inner] as number) +
          (this.positionEmbedding[position * d + inner] as number);
        const kernelRow = inner * d;
        for (let out = 0; out < d; out++) {
          hidden[out] = (hidden[out] as number) + value * (this.attentionKernel[kernelRow + out] as number);
        }
      }
      let logit = 0;
      for (let out = 0; out < d; out++) {
        logit += Math.tanh(hidden[out] as number) * (this.attentionQuery[out] as number);
      }
      logits[position] = logit;
    }

    // Softmax over the real positions; padding gets no weight (all-padding → zeros).
    const pooled = new Float64Array(d);
    if (recent.length > 0) {
      let max = Number.NEGATIVE_INFINITY;
      for (let position = pad; position < n; position++) max = Math.max(max, logits[position] as number);
      let total = 0;
      for (let position = pad; position < n; position++) {
        logits[position] = Math.exp((logits[position] as number) - max);
        total += logits[position] as number;
      }
      for (let position = pad; position < n; position++) {
        const weight = (logits[position] as number) / total;
        const embedding = (rows[position] as number) * d;
        for (let inner = 0; inner < d; inner++) {
          pooled[inner] =
            (pooled[inner] as number) + weight * (this.itemEmbedding[embedding + inner] as number);
        }
      }
    }

    const userRow = user === undefined ? 0 : user + 1;
    const featureDim = this.userFeatures.length > 0 ? this.shape.userFeatureDim : 0;
    const joined = new Float64Array(3 * d + this.shape.userFeatureDim);
    joined.set(pooled, 0);
    const last = (rows[n - 1] as number) * d;
    for (let inner = 0; inner < d; inner++) {
      joined[d + inner] = this.itemEmbedding[last + inner] as number;
      joined[2 * d + inner] = this.userEmbedding[userRow * d + inner] as number;
    }
    for (let feature = 0; feature < featureDim; feature++) {
      joined[3 * d + feature] = this.userFeatures[userRow * featureDim + feature] as number;
    }

    const vector = new Float32Array(d + 1);
    for (let out = 0; out < d; out++) {
      let value = this.outputBias[out] as number;
      for (let inner = 0; inner < joined.length; inner++) {
        value += (joined[inner] as number) * (this.outputKernel[inner * d + out] as number);
      }
      vector[out] = value;
    }
    vector[d] = 1;
    return vector;
  }
}
