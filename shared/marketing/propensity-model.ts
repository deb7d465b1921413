import type * as tf from '@tensorflow/tfjs';
import { float32FromBytes } from '../data/binary';
import type { LogisticModel } from './logistic-regression';
import type { Platt, TrainedPropensity } from './propensity';
import { type ContactDateSpec, contactDateSpecSchema, withContactVolume } from './contact-context';
import { type FeatureSpec, type Table, TabularEncoder } from './tabular';

/**
 * A trained propensity model as one JSON document: the tabular encoder, each
 * ensemble member's dense layers (float32 weights, base64), Platt scaling and
 * the decision threshold. Scoring needs no TF.js: the forward pass of a few
 * small dense layers is plain Float32Array math, so an API function or a batch
 * job can load it cheaply.
 */
export const PROPENSITY_MODEL_FORMAT = 'mappa-propensity/1';

export interface DenseLayerArtifact {
  readonly inputs: number;
  readonly units: number;
  readonly activation: 'relu' | 'linear';
  /** Row-major [inputs × units], float32 little-endian, base64. */
  readonly kernel: string;
  readonly bias: string;
}

export interface PropensityModelArtifact {
  readonly format: typeof PROPENSITY_MODEL_FORMAT;
  readonly target: string;
  readonly encoder: { readonly features: readonly FeatureSpec[] };
  readonly members: readonly { readonly layers: readonly DenseLayerArtifact[] }[];
  readonly platt: Platt;
  readonly threshold: number;
  /** Contact date columns the campaign-context feature is derived from when scoring (absent: none). */
  readonly context?: ContactDateSpec;
  /** Free-form facts about the training run (rows, metrics, time). */
  readonly metadata: Record<string, unknown>;
}

function base64Of(values: Float32Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
}

function denseLayers(member: tf.Sequential): DenseLayerArtifact[] {
  return member.layers
    .filter((layer) => layer.getClassName() === 'Dense')
    .map((layer) => {
      const [kernel, bias] = layer.getWeights() as [tf.Tensor, tf.Tensor];
      const [inputs, units] = kernel.shape as [number, number];
      const activation = (layer.getConfig() as { activation?: string }).activation;
      if (activation !== 'relu' && activation !== 'linear') {
        throw new Error(`cannot export a dense layer with activation '${String(activation)}'`);
      }
      return {
        inputs,
        units,
        activation,
        kernel: base64Of(kernel.dataSync() as Float32Array),
        bias: base64Of(bias.dataSync() as Float32Array),
      };
    });
}

/** The document around a model's members: what both exporters share. */
function modelDocument(
  members: PropensityModelArtifact['members'],
  calibration: { readonly platt: Platt; readonly threshold: number },
  encoder: TabularEncoder,
  target: string,
  metadata: Record<string, unknown>,
  context: ContactDateSpec | undefined,
): PropensityModelArtifact {
  return {
    format: PROPENSITY_MODEL_FORMAT,
    target,
    encoder: encoder.toJSON(),
    members,
    platt: calibration.platt,
    threshold: calibration.threshold,
    ...(context === undefined ? {} : { context }),
    metadata,
  };
}

export function exportPropensityModel(
  trained: TrainedPropensity,
  encoder: TabularEncoder,
  target: string,
  metadata: Record<string, unknown> = {},
  context?: ContactDateSpec,
): PropensityModelArtifact {
  const members = trained.members.map((member) => ({ layers: denseLayers(member) }));
  return modelDocument(members, trained, encoder, target, metadata, context);
}

/** A logistic regression as a one-layer, linear model in the same format: scored by the same code. */
export function exportLogisticModel(
  model: LogisticModel & { readonly platt: Platt; readonly threshold: number },
  encoder: TabularEncoder,
  target: string,
  metadata: Record<string, unknown> = {},
  context?: ContactDateSpec,
): PropensityModelArtifact {
  const layer: DenseLayerArtifact = {
    inputs: model.coefficients.length,
    units: 1,
    activation: 'linear',
    kernel: base64Of(Float32Array.from(model.coefficients)),
    bias: base64Of(Float32Array.of(model.intercept)),
  };
  return modelDocument([{ layers: [layer] }], model, encoder, target, metadata, context);
}

interface DenseLayer {
  readonly inputs: number;
  readonly units: number;
  readonly relu: boolean;
  readonly kernel: Float32Array;
  readonly bias: Float32Array;
}

/** Scores rows with a loaded model; equal to the TF.js ensemble it was exported from (float32 rounding aside). */
export class PropensityScorer {
  private constructor(
    readonly target: string,
    readonly encoder: TabularEncoder,
    private readonly members: readonly (readonly DenseLayer[])[],
    readonly platt: Platt,
    readonly threshold: number,
    readonly metadata: Record<string, unknown>,
    readonly context: ContactDateSpec | undefined,
  ) {}

  /** Validates the document's shape as well as parsing it: a model file may come from anywhere. */
  static fromArtifact(artifact: PropensityModelArtifact): PropensityScorer {
    if (artifact?.format !== PROPENSITY_MODEL_FORMAT) {
      throw new Error(
        `not a Mappa propensity model (format '${String(artifact?.format)}', expected '${PROPENSITY_MODEL_FORMAT}')`,
      );
    }
    const encoder = TabularEncoder.fromJSON(artifact.encoder);
    if (artifact.members.length === 0) throw new Error('the propensity model has no ensemble members');
    const members = artifact.members.map((member, index) => {
      let width = encoder.width;
      return member.layers.map((layer, position) => {
        const kernel = float32FromBytes(Buffer.from(layer.kernel, 'base64'));
        const bias = float32FromBytes(Buffer.from(layer.bias, 'base64'));
        if (
          layer.inputs !== width ||
          kernel.length !== layer.inputs * layer.units ||
          bias.length !== layer.units
        ) {
          throw new Error(
            `member ${index} layer ${position}: weights do not match its shape (${layer.inputs} × ${layer.units}, input width ${width})`,
          );
        }
        width = layer.units;
        return { inputs: layer.inputs, units: layer.units, relu: layer.activation === 'relu', kernel, bias };
      });
    });
    for (const [index, layers] of members.entries()) {
      if (layers.at(-1)?.units !== 1) throw new Error(`member ${index}: the last layer must have one output`);
    }
    return new PropensityScorer(
      artifact.target,
      encoder,
      members,
      artifact.platt,
      artifact.threshold,
      artifact.metadata ?? {},
      contextOf(artifact.context),
    );
  }

  /** Mean ensemble logit per row of `table` (columns found by name; the context feature derived as in training). */
  logits(source: Table, rows: readonly number[]): Float32Array {
    const table = this.context === undefined ? source : withContactVolume(source, this.context);
    const encoder = this.encoder.forTable(table);
    const out = new Float32Array(rows.length);
    const batch = 1024;
    for (let start = 0; start < rows.length; start += batch) {
      const slice = rows.slice(start, start + batch);
      const input = encoder.encode(table, slice);
      for (const layers of this.members) {
        const logits = forward(layers, input, slice.length);
        for (let row = 0; row < slice.length; row++) {
          out[start + row] = (out[start + row] as number) + (logits[row] as number) / this.members.length;
        }
      }
    }
    return out;
  }

  /** Calibrated probabilities. */
  probabilities(table: Table, rows: readonly number[]): Float64Array {
    const { a, b } = this.platt;
    return Float64Array.from(this.logits(table, rows), (logit) => 1 / (1 + Math.exp(-(a * logit + b))));
  }
}

function contextOf(context: unknown): ContactDateSpec | undefined {
  if (context === undefined) return undefined;
  const parsed = contactDateSpecSchema.safeParse(context);
  if (!parsed.success)
    throw new Error(`the model's context is not a contact date spec: ${JSON.stringify(context)}`);
  return parsed.data;
}

/** Deciles of scores: 1 = the 10% highest, 10 = the lowest (ties keep row order). */
export function deciles(scores: ArrayLike<number>): Int8Array {
  const order = Array.from({ length: scores.length }, (_, row) => row).sort(
    (a, b) => (scores[b] as number) - (scores[a] as number),
  );
  const decile = new Int8Array(scores.length);
  order.forEach((row, rank) => {
    decile[row] = Math.min(10, Math.floor((rank * 10) / scores.length) + 1);
  });
  return decile;
}

function forward(layers: readonly DenseLayer[], input: Float32Array, rows: number): Float32Array {
  let current = input;
  for (const layer of layers) {
    const next = new Float32Array(rows * layer.units);
    for (let row = 0; row < rows; row++) {
      const inputOffset = row * layer.inputs;
      const outputOffset = row * layer.units;
      next.set(layer.bias, outputOffset);
      for (let i = 0; i < layer.inputs; i++) {
        const value = current[inputOffset + i] as number;
        if (value === 0) continue; // one-hot inputs are mostly zero
        const kernelOffset = i * layer.units;
        for (let unit = 0; unit < layer.units; unit++) {
          next[outputOffset + unit] =
            (next[outputOffset + unit] as number) + value * (layer.kernel[kernelOffset + unit] as number);
        }
      }
      if (layer.relu) {
        for (let unit = 0; unit < layer.units; unit++) {
          if ((next[outputOffset + unit] as number) < 0) next[outputOffset + unit] = 0;
        }
      }
    }
    current = next;
  }
  return current;
}
