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
  type Matrix,
  type PropensityConfig,
  trainPropensity,
} from './propensity';
import { exportPropensityModel, type PropensityModelArtifact } from './propensity-model';
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

/**
 * The choices made on the validation rows, never on the test rows: with or
 * without the campaign-context feature (when the file has contact dates) and,
 * on time-ordered rows, the recency half-life that best predicts the validation
 * period. Each candidate is one quick member (no ensemble, no refit).
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
    for (const candidate of halfLives) {
      const trained = await trainPropensity(
        data.train,
        trainLabels,
        data.validation,
        validationLabels,
        { ...config, ensemble: 1, refit: false, recencyHalfLife: candidate },
        undefined,
        timeOrdered,
      );
      const auc = Math.max(...trained.history.map((stats) => stats.validationAuc));
      disposePropensity(trained);
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
  const logistic = await trainPropensity(
    train,
    trainLabels,
    validation,
    validationLabels,
    { ...chosen, hidden: [], dropout: 0, ensemble: 1, learningRate: 0.01, l2: 1e-3 },
    (stats) => onEpoch('logistic', stats),
    timeOrdered,
  );
  const logisticProbabilities = calibrated(ensembleLogits(logistic.members, test), logistic.platt);
  const result = {
    trainRows: split.train.length,
    validationRows: split.validation.length,
    testRows: split.test.length,
    mlp: classificationMetrics(mlpProbabilities, testLabels, mlp.threshold),
    logisticRegression: classificationMetrics(logisticProbabilities, testLabels, logistic.threshold),
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
  onModel?.(
    exportPropensityModel(
      mlp,
      encoder,
      target,
      {
        trainedAt: new Date().toISOString(),
        split: timeOrdered ? 'temporal' : 'random',
        trainRows: result.trainRows,
        validationRows: result.validationRows,
        test: { rows: result.testRows, rocAuc: result.mlp.rocAuc, prAuc: result.mlp.prAuc },
        recencyHalfLife: chosen.recencyHalfLife,
      },
      choice.data.withContext ? context : undefined,
    ),
  );
  disposePropensity(mlp);
  disposePropensity(logistic);
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
