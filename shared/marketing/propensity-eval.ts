import { SeededRandom } from '../data/random';
import {
  calibrationCurve,
  type ClassificationMetrics,
  classificationMetrics,
  rocCurve,
} from './classification-metrics';
import {
  calibrated,
  DEFAULT_PROPENSITY_CONFIG,
  disposePropensity,
  type EpochStats,
  ensembleLogits,
  fitPlatt,
  type Matrix,
  type PropensityConfig,
  propensityRowWeights,
  trainingAndValidation,
  trainPropensity,
} from './propensity';
import { bestF1Threshold, rocAuc } from './classification-metrics';
import { fitLogisticRegression, type LogisticModel, logisticLogits } from './logistic-regression';
import { exportLogisticModel, exportPropensityModel, type PropensityModelArtifact } from './propensity-model';
import {
  CONTACT_VOLUME_COLUMN,
  type ContactDateSpec,
  dateColumnsOf,
  detectContactDate,
  withContactVolume,
} from './contact-context';
import { binaryTarget, parseCsvTable, type Table, TabularEncoder } from './tabular';

/**
 * `mappa propensity-eval`: the propensity model on any CSV with a binary
 * target, on two splits — random 80/20 (seeded) and temporal (first 80% of
 * rows train, last 20% test) — next to an L2 logistic regression trained on the
 * same features in the same run.
 */
export interface PropensityEvalOptions {
  readonly target: string;
  readonly drop?: readonly string[];
  readonly seed?: number;
  readonly testShare?: number;
  readonly config?: Partial<PropensityConfig>;
  /** Add the campaign-context feature when the file has contact dates (shared/marketing/contact-context.ts). @default true */
  readonly context?: boolean;
  readonly onEpoch?: (split: SplitName, model: string, stats: EpochStats) => void;
  /** After each quick candidate model of the choices made on validation (progress for long runs). */
  readonly onCandidate?: (split: SplitName, candidate: CandidateOutcome) => void;
  /** Receives each split's trained MLP as a portable model document (e.g. to save with --save-model). */
  readonly onModel?: (split: SplitName, model: PropensityModelArtifact) => void;
}

export type SplitName = 'random' | 'temporal';

export interface SplitResult {
  readonly trainRows: number;
  readonly validationRows: number;
  readonly testRows: number;
  readonly mlp: ClassificationMetrics;
  readonly logisticRegression: ClassificationMetrics;
  /**
   * The model this split's saved model is: the MLP, unless the logistic regression scored at least as well on
   * the validation rows (the simpler model then wins), with both validation AUCs.
   */
  readonly chosen: {
    readonly model: 'mlp' | 'logistic_regression';
    readonly validationAuc: { readonly mlp: number; readonly logisticRegression: number };
  };
  readonly epochs: number;
  readonly seconds: number;
  /** Whether the campaign-context feature was used, chosen on validation AUC (null: the file has no contact dates). */
  readonly context: {
    readonly used: boolean;
    readonly validationAuc: { readonly with: number; readonly without: number };
  } | null;
  /** Temporal split: the half-life chosen on validation AUC, and every candidate's AUC (of the chosen feature set). */
  readonly recencyHalfLife: { value: number; validationAuc: Record<string, number> } | null;
  /** For the report: ROC and reliability curves of the MLP on the test rows. */
  readonly curves: {
    roc: { fpr: number; tpr: number }[];
    calibration: { predicted: number; observed: number; count: number }[];
  };
}

export interface PropensityEvalResult {
  readonly target: string;
  readonly rows: number;
  readonly positiveRate: number;
  readonly dropped: readonly string[];
  readonly features: number;
  readonly encodedWidth: number;
  /** The campaign-context feature offered from the contact dates, or null (no date columns, or turned off); each split says whether validation chose it. */
  readonly context: {
    readonly column: typeof CONTACT_VOLUME_COLUMN;
    readonly dateColumns: readonly string[];
    readonly yearInferredFromRowOrder: boolean;
  } | null;
  readonly splits: Record<SplitName, SplitResult>;
}

interface Split {
  readonly train: number[];
  readonly validation: number[];
  readonly test: number[];
}

export function randomSplit(rows: number, testShare: number, seed: number): Split {
  const random = new SeededRandom(seed);
  const order = Array.from({ length: rows }, (_, row) => row);
  random.shuffle(order);
  const testSize = Math.round(rows * testShare);
  const test = order.slice(rows - testSize);
  const rest = order.slice(0, rows - testSize);
  const validationSize = Math.round(rest.length * 0.15);
  return { train: rest.slice(validationSize), validation: rest.slice(0, validationSize), test };
}

/** First rows train, last rows test; validation is the latest part of the training period. */
export function temporalSplit(rows: number, testShare: number): Split {
  const testStart = rows - Math.round(rows * testShare);
  const validationStart = testStart - Math.round(testStart * 0.15);
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, index) => from + index);
  return {
    train: range(0, validationStart),
    validation: range(validationStart, testStart),
    test: range(testStart, rows),
  };
}

/** Candidate half-lives, as fractions of the training period. */
export const RECENCY_HALF_LIVES = [0, 0.25, 0.1, 0.04, 0.02, 0.01];

/** One split's rows encoded with one feature set (encoder fitted on the training rows only). */
interface EncodedSplit {
  readonly withContext: boolean;
  readonly encoder: TabularEncoder;
  readonly train: Matrix;
  readonly validation: Matrix;
  readonly test: Matrix;
}

function encodeSplit(
  table: Table,
  split: Split,
  exclude: ReadonlySet<string>,
  withContext: boolean,
): EncodedSplit {
  const encoder = TabularEncoder.fit(table, split.train, exclude);
  const matrix = (rows: number[]): Matrix => ({
    values: encoder.encode(table, rows),
    rows: rows.length,
    width: encoder.width,
  });
  return {
    withContext,
    encoder,
    train: matrix(split.train),
    validation: matrix(split.validation),
    test: matrix(split.test),
  };
}

/** One quick candidate of the choices made on validation. */
export interface CandidateOutcome {
  /** 1-based position and count of candidates in this split. */
  readonly index: number;
  readonly total: number;
  readonly withContext: boolean;
  /** Recency half-life tried (time-ordered rows only). */
  readonly halfLife: number | null;
  readonly validationAuc: number;
}

interface Choice {
  readonly data: EncodedSplit;
  readonly halfLife: { value: number; validationAuc: Record<string, number> } | undefined;
  readonly context: SplitResult['context'];
}

/** L2 strength of the logistic regression (its objective is the MLP's: mean weighted loss + λ·‖β‖²). */
const LOGISTIC_L2 = 1e-3;

/**
 * The choices made on the validation rows, never on the test rows: with or
 * without the campaign-context feature (when the file has contact dates) and,
 * on time-ordered rows, the recency half-life that best predicts the validation
 * period. Each candidate is an exactly fitted logistic regression (a fraction of
 * a second), not an MLP trained for epochs: the choices are about the data,
 * which the simpler model ranks the same way at a small part of the cost.
 */
async function chooseOnValidation(
  variants: readonly EncodedSplit[],
  trainLabels: Uint8Array,
  validationLabels: Uint8Array,
  config: PropensityConfig,
  timeOrdered: boolean,
  onCandidate: ((candidate: CandidateOutcome) => void) | undefined,
): Promise<Choice> {
  if (variants.length === 1 && !timeOrdered)
    return { data: variants[0] as EncodedSplit, halfLife: undefined, context: null };
  const halfLives = timeOrdered ? RECENCY_HALF_LIVES : [config.recencyHalfLife];
  const scored: {
    data: EncodedSplit;
    best: { value: number; auc: number };
    validationAuc: Record<string, number>;
  }[] = [];
  let tried = 0;
  for (const data of variants) {
    const validationAuc: Record<string, number> = {};
    let best = { value: halfLives[0] as number, auc: -1 };
    let previous: LogisticModel | undefined;
    for (const candidate of halfLives) {
      // Each half-life starts from the previous one's fit: the same rows, weights a little apart.
      const model = fitLogisticRegression(
        data.train,
        trainLabels,
        propensityRowWeights(trainLabels, candidate, timeOrdered),
        { l2: LOGISTIC_L2, ...(previous ? { start: previous } : {}) },
      );
      previous = model;
      const auc = rocAuc(logisticLogits(model, data.validation), validationLabels);
      // Yield between candidates so progress lines reach the terminal.
      await new Promise<void>((resolve) => setImmediate(resolve));
      validationAuc[String(candidate)] = Number(auc.toFixed(4));
      if (auc > best.auc) best = { value: candidate, auc };
      onCandidate?.({
        index: ++tried,
        total: variants.length * halfLives.length,
        withContext: data.withContext,
        halfLife: timeOrdered ? candidate : null,
        validationAuc: auc,
      });
    }
    scored.push({ data, best, validationAuc });
  }
  const winner = scored.reduce((best, next) => (next.best.auc > best.best.auc ? next : best));
  const aucOf = (withContext: boolean) =>
    Number((scored.find((entry) => entry.data.withContext === withContext)?.best.auc ?? 0).toFixed(4));
  return {
    data: winner.data,
    halfLife: timeOrdered ? { value: winner.best.value, validationAuc: winner.validationAuc } : undefined,
    context:
      variants.length > 1
        ? { used: winner.data.withContext, validationAuc: { with: aucOf(true), without: aucOf(false) } }
        : null,
  };
}

/** The logistic regression beside the MLP, on the same features, weights and (when the MLP refits) rows. */
function fitLogistic(
  train: Matrix,
  trainLabels: Uint8Array,
  validation: Matrix,
  validationLabels: Uint8Array,
  test: Matrix,
  config: PropensityConfig,
  timeOrdered: boolean,
): LogisticModel & {
  platt: ReturnType<typeof fitPlatt>;
  threshold: number;
  validationAuc: number;
  testProbabilities: Float64Array;
} {
  const weights = (labels: Uint8Array) => propensityRowWeights(labels, config.recencyHalfLife, timeOrdered);
  const fitted = fitLogisticRegression(train, trainLabels, weights(trainLabels), { l2: LOGISTIC_L2 });
  const validationLogits = logisticLogits(fitted, validation);
  const platt = fitPlatt(validationLogits, validationLabels);
  const threshold = bestF1Threshold(calibrated(validationLogits, platt), validationLabels);
  // Refit on training + validation rows, as the MLP does: in a temporal split they are the most recent.
  const both = config.refit
    ? trainingAndValidation(train, trainLabels, validation, validationLabels)
    : undefined;
  const final = both
    ? fitLogisticRegression(both.rows, both.labels, weights(both.labels), { l2: LOGISTIC_L2, start: fitted })
    : fitted;
  return {
    ...final,
    platt,
    threshold,
    validationAuc: rocAuc(validationLogits, validationLabels),
    testProbabilities: calibrated(logisticLogits(final, test), platt),
  };
}

function labelsOf(labels: Uint8Array, rows: readonly number[]): Uint8Array {
  return Uint8Array.from(rows, (row) => labels[row] as number);
}

async function evaluateSplit(
  tables: { readonly plain: Table; readonly withContext: Table | undefined },
  labels: Uint8Array,
  split: Split,
  exclude: ReadonlySet<string>,
  config: PropensityConfig,
  onEpoch: (model: string, stats: EpochStats) => void,
  onCandidate: ((candidate: CandidateOutcome) => void) | undefined,
  timeOrdered: boolean,
  onModel: ((model: PropensityModelArtifact) => void) | undefined,
  target: string,
  context: ContactDateSpec | undefined,
): Promise<SplitResult & { encoder: TabularEncoder }> {
  const started = performance.now();
  // Plain first: on a tie the model without the extra feature is kept.
  const variants = [
    encodeSplit(tables.plain, split, exclude, false),
    ...(tables.withContext ? [encodeSplit(tables.withContext, split, exclude, true)] : []),
  ];
  const [trainLabels, validationLabels, testLabels] = [split.train, split.validation, split.test].map(
    (rows) => labelsOf(labels, rows),
  ) as [Uint8Array, Uint8Array, Uint8Array];

  const choice = await chooseOnValidation(
    variants,
    trainLabels,
    validationLabels,
    config,
    timeOrdered,
    onCandidate,
  );
  const { encoder, train, validation, test } = choice.data;
  const halfLife = choice.halfLife;
  const chosen = halfLife === undefined ? config : { ...config, recencyHalfLife: halfLife.value };
  const mlp = await trainPropensity(
    train,
    trainLabels,
    validation,
    validationLabels,
    chosen,
    (stats) => onEpoch('mlp', stats),
    timeOrdered,
  );
  const seconds = (performance.now() - started) / 1000;
  const mlpProbabilities = calibrated(ensembleLogits(mlp.members, test), mlp.platt);
  const logistic = fitLogistic(train, trainLabels, validation, validationLabels, test, chosen, timeOrdered);
  const logisticProbabilities = logistic.testProbabilities;
  // The simpler model wins a tie, and wins whenever the MLP does not beat it where both were tuned.
  const chosenModel: SplitResult['chosen']['model'] =
    mlp.validationAuc > logistic.validationAuc ? 'mlp' : 'logistic_regression';
  const result = {
    trainRows: split.train.length,
    validationRows: split.validation.length,
    testRows: split.test.length,
    mlp: classificationMetrics(mlpProbabilities, testLabels, mlp.threshold),
    logisticRegression: classificationMetrics(logisticProbabilities, testLabels, logistic.threshold),
    chosen: {
      model: chosenModel,
      validationAuc: {
        mlp: Number(mlp.validationAuc.toFixed(4)),
        logisticRegression: Number(logistic.validationAuc.toFixed(4)),
      },
    },
    epochs: mlp.history.length,
    recencyHalfLife: halfLife ?? null,
    context: choice.context,
    seconds: Number(seconds.toFixed(1)),
    curves: {
      roc: rocCurve(mlpProbabilities, testLabels),
      calibration: calibrationCurve(mlpProbabilities, testLabels),
    },
    encoder,
  };
  const metadata = {
    trainedAt: new Date().toISOString(),
    split: timeOrdered ? 'temporal' : 'random',
    model: chosenModel,
    trainRows: result.trainRows,
    validationRows: result.validationRows,
    test: {
      rows: result.testRows,
      rocAuc: (chosenModel === 'mlp' ? result.mlp : result.logisticRegression).rocAuc,
      prAuc: (chosenModel === 'mlp' ? result.mlp : result.logisticRegression).prAuc,
    },
    recencyHalfLife: chosen.recencyHalfLife,
  };
  const modelContext = choice.data.withContext ? context : undefined;
  onModel?.(
    chosenModel === 'mlp'
      ? exportPropensityModel(mlp, encoder, target, metadata, modelContext)
      : exportLogisticModel(logistic, encoder, target, metadata, modelContext),
  );
  disposePropensity(mlp);
  return result;
}

export async function evaluatePropensityCsv(
  text: string,
  options: PropensityEvalOptions,
): Promise<PropensityEvalResult> {
  const parsed = parseCsvTable(text);
  const labels = binaryTarget(parsed, options.target);
  const dropped = options.drop ?? [];
  for (const column of dropped) {
    if (!parsed.columns.includes(column)) {
      throw new Error(`--drop column '${column}' is not in the file (columns: ${parsed.columns.join(', ')})`);
    }
  }
  const exclude = new Set([options.target, ...dropped]);
  const context = options.context === false ? undefined : detectContactDate(parsed.columns, exclude);
  const tables = { plain: parsed, withContext: context && withContactVolume(parsed, context) };
  const config = { ...DEFAULT_PROPENSITY_CONFIG, ...options.config };
  const testShare = options.testShare ?? 0.2;
  const splits = {} as Record<SplitName, SplitResult>;
  let encoder: TabularEncoder | undefined;
  for (const [name, split] of [
    ['random', randomSplit(parsed.rows, testShare, options.seed ?? 7)],
    ['temporal', temporalSplit(parsed.rows, testShare)],
  ] as const) {
    const { encoder: fitted, ...result } = await evaluateSplit(
      tables,
      labels,
      split,
      exclude,
      config,
      (model, stats) => options.onEpoch?.(name, model, stats),
      options.onCandidate && ((candidate) => options.onCandidate?.(name, candidate)),
      name === 'temporal',
      options.onModel && ((model) => options.onModel?.(name, model)),
      options.target,
      context,
    );
    encoder ??= fitted;
    splits[name] = result;
  }
  let positives = 0;
  for (const label of labels) positives += label;
  return {
    target: options.target,
    rows: parsed.rows,
    positiveRate: positives / Math.max(parsed.rows, 1),
    dropped,
    features: encoder?.features.length ?? 0,
    encodedWidth: encoder?.width ?? 0,
    context:
      context === undefined
        ? null
        : {
            column: CONTACT_VOLUME_COLUMN,
            dateColumns: dateColumnsOf(context),
            yearInferredFromRowOrder: context.kind === 'day-month' && context.year === undefined,
          },
    splits,
  };
}
