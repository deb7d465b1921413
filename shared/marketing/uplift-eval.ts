import type { Matrix } from './propensity';
import type { Comparison } from './statistics';
import { type Table, TableError, TabularEncoder } from './tabular';
import {
  averageTreatmentEffect,
  campaignRows,
  encodeCampaign,
  type FitData,
  fitResponseModel,
  fitUplift,
  type OutcomeKind,
  pickRows,
  predictLinear,
  predictUplift,
  stratifiedSplit,
  type TreatmentSpec,
  UPLIFT_ESTIMATORS,
  type UpliftEstimator,
  type UpliftParameters,
} from './uplift';
import {
  areaUnderUpliftCurve,
  type CurvePoint,
  qiniCoefficient,
  qiniCurve,
  type UpliftDecile,
  upliftDeciles,
} from './uplift-metrics';

/**
 * `mappa uplift-eval`: every estimator on a randomized campaign file, each regularised on validation
 * rows and measured on held-out rows next to random targeting and targeting by plain propensity (the
 * outcome model that ignores treatment). The estimator with the best validation Qini is the one saved.
 */
export interface UpliftEvalOptions {
  readonly treatment: TreatmentSpec;
  readonly outcome: string;
  readonly drop?: readonly string[];
  readonly seed?: number;
  /** Share of rows held out for the test metrics. @default 0.3 */
  readonly testShare?: number;
  /** A line per finished step (progress for long runs). */
  readonly onStep?: (message: string) => void;
}

export interface EstimatorResult {
  readonly estimator: UpliftEstimator;
  /** The regularisation chosen on validation rows, and every candidate's validation Qini. */
  readonly l2: number;
  readonly validationQini: Record<string, number>;
  /** Mean predicted uplift over the held-out rows: the model's estimate of the average effect. */
  readonly ate: number;
  readonly qini: number;
  readonly auuc: number;
  readonly deciles: readonly UpliftDecile[];
}

export interface UpliftEvalResult {
  readonly rows: number;
  readonly analysedRows: number;
  /** Rows of arms other than control and --treated, left out. */
  readonly otherArms: number;
  readonly treatment: TreatmentSpec & { readonly treatedRows: number; readonly controlRows: number };
  readonly outcome: { readonly column: string; readonly kind: OutcomeKind };
  readonly dropped: readonly string[];
  readonly features: number;
  readonly encodedWidth: number;
  readonly split: { readonly train: number; readonly validation: number; readonly test: number };
  /**
   * The campaign's average effect: observed treated − control over every analysed row (randomized, so the
   * difference of means is unbiased), with its 95% CI as the experiments report computes it.
   */
  readonly ate: ObservedEffect;
  /** The same on the held-out rows only: what the predicted ATEs below are compared with. */
  readonly heldOutAte: ObservedEffect;
  readonly estimators: Record<UpliftEstimator, EstimatorResult>;
  readonly chosen: EstimatorResult;
  readonly baselines: {
    /** Random targeting: the reference line of both areas. */
    readonly random: { readonly qini: 0; readonly auuc: 0 };
    readonly propensity: {
      readonly qini: number;
      readonly auuc: number;
      readonly deciles: readonly UpliftDecile[];
    };
  };
  /** Qini curves on the held-out rows, for the report. */
  readonly curves: {
    readonly chosen: readonly CurvePoint[];
    readonly propensity: readonly CurvePoint[];
  };
  readonly seconds: number;
}

export type ObservedEffect = Comparison & {
  readonly treated: number;
  readonly control: number;
  readonly test: 'two_proportion_z' | 'welch_t';
};

export const UPLIFT_MODEL_FORMAT = 'mappa-uplift/1';

/** A saved uplift model: the encoder and the chosen estimator's parameters, scored by `mappa uplift-score`. */
export interface UpliftModelArtifact {
  readonly format: typeof UPLIFT_MODEL_FORMAT;
  readonly createdAt: string;
  readonly treatment: TreatmentSpec;
  readonly outcome: { readonly column: string; readonly kind: OutcomeKind };
  readonly encoder: ReturnType<TabularEncoder['toJSON']>;
  readonly parameters: UpliftParameters;
  readonly metrics: { readonly qini: number; readonly auuc: number; readonly ate: number };
}

const L2_GRID = [1e-4, 1e-3, 1e-2, 0.1, 1];

function fitDataOf(
  x: Matrix,
  treated: Uint8Array,
  outcome: Float64Array,
  kind: OutcomeKind,
  positions: readonly number[],
): FitData {
  return {
    x: pickRows(x, positions),
    treated: Uint8Array.from(positions, (position) => treated[position] as number),
    outcome: Float64Array.from(positions, (position) => outcome[position] as number),
    kind,
  };
}

export function evaluateUplift(
  table: Table,
  options: UpliftEvalOptions,
): { result: UpliftEvalResult; model: UpliftModelArtifact } {
  const started = Date.now();
  const step = options.onStep ?? (() => undefined);
  const campaign = campaignRows(table, options.treatment, options.outcome);
  const dropped = [...(options.drop ?? [])];
  for (const name of dropped) {
    if (!table.columns.includes(name)) {
      throw new TableError(
        `--drop column '${name}' is not in the file (columns: ${table.columns.join(', ')})`,
      );
    }
  }
  const split = stratifiedSplit(campaign.treated, options.testShare ?? 0.3, options.seed ?? 7);
  const exclude = new Set([options.treatment.column, options.outcome, ...dropped]);
  const { encoder, x } = encodeCampaign(table, campaign, split.train, exclude);
  step(
    `${campaign.rows.length} rows (${split.train.length} train, ${split.validation.length} validation, ${split.test.length} test), ${encoder.features.length} features → ${encoder.width} columns, ${campaign.kind} outcome`,
  );
  const part = (positions: readonly number[]) =>
    fitDataOf(x, campaign.treated, campaign.outcome, campaign.kind, positions);
  const train = part(split.train);
  const validation = part(split.validation);
  const refit = part([...split.train, ...split.validation]);
  const test = part(split.test);

  const estimators = {} as Record<UpliftEstimator, EstimatorResult>;
  const parameters = {} as Record<UpliftEstimator, UpliftParameters>;
  for (const estimator of UPLIFT_ESTIMATORS) {
    const validationQini: Record<string, number> = {};
    let best = { l2: L2_GRID[0] as number, qini: Number.NEGATIVE_INFINITY };
    for (const l2 of L2_GRID) {
      const qini = qiniCoefficient(predictUplift(fitUplift(estimator, train, l2), validation.x), validation);
      validationQini[String(l2)] = qini;
      if (qini > best.qini) best = { l2, qini };
    }
    // The chosen strength refitted on training + validation rows, measured once on the held-out rows.
    const fitted = fitUplift(estimator, refit, best.l2);
    parameters[estimator] = fitted;
    const scores = predictUplift(fitted, test.x);
    estimators[estimator] = {
      estimator,
      l2: best.l2,
      validationQini,
      ate: scores.reduce((sum, value) => sum + value, 0) / Math.max(scores.length, 1),
      qini: qiniCoefficient(scores, test),
      auuc: areaUnderUpliftCurve(scores, test),
      deciles: upliftDeciles(scores, test),
    };
    step(
      `${estimator}: validation Qini ${best.qini.toFixed(3)} (l2 ${best.l2}), test Qini ${estimators[estimator].qini.toFixed(3)}, AUUC ${estimators[estimator].auuc.toFixed(3)}`,
    );
  }
  const bestOnValidation = (estimator: UpliftEstimator) =>
    estimators[estimator].validationQini[String(estimators[estimator].l2)] as number;
  const chosenName = [...UPLIFT_ESTIMATORS].sort(
    (a, b) => bestOnValidation(b) - bestOnValidation(a),
  )[0] as UpliftEstimator;
  const chosen = estimators[chosenName];

  // Propensity targeting: rank by the likelihood of the outcome itself, treatment ignored.
  const response = fitResponseModel(refit, 1e-3);
  const propensityScores = predictLinear(response, test.x);
  const chosenScores = predictUplift(parameters[chosenName], test.x);

  const treatedRows = campaign.treated.reduce((sum, flag) => sum + flag, 0);
  const result: UpliftEvalResult = {
    rows: table.rows,
    analysedRows: campaign.rows.length,
    otherArms: campaign.otherArms,
    treatment: { ...options.treatment, treatedRows, controlRows: campaign.rows.length - treatedRows },
    outcome: { column: options.outcome, kind: campaign.kind },
    dropped,
    features: encoder.features.length,
    encodedWidth: encoder.width,
    split: { train: split.train.length, validation: split.validation.length, test: split.test.length },
    ate: averageTreatmentEffect(campaign.treated, campaign.outcome, campaign.kind),
    heldOutAte: averageTreatmentEffect(test.treated, test.outcome, campaign.kind),
    estimators,
    chosen,
    baselines: {
      random: { qini: 0, auuc: 0 },
      propensity: {
        qini: qiniCoefficient(propensityScores, test),
        auuc: areaUnderUpliftCurve(propensityScores, test),
        deciles: upliftDeciles(propensityScores, test),
      },
    },
    curves: { chosen: qiniCurve(chosenScores, test), propensity: qiniCurve(propensityScores, test) },
    seconds: (Date.now() - started) / 1000,
  };
  const model: UpliftModelArtifact = {
    format: UPLIFT_MODEL_FORMAT,
    createdAt: new Date().toISOString(),
    treatment: options.treatment,
    outcome: result.outcome,
    encoder: encoder.toJSON(),
    parameters: parameters[chosenName],
    metrics: { qini: chosen.qini, auuc: chosen.auuc, ate: chosen.ate },
  };
  return { result, model };
}

/** Predicted uplift of every row of a table under a saved model (columns found by name). */
export function scoreUplift(model: UpliftModelArtifact, table: Table): Float64Array {
  if (model.format !== UPLIFT_MODEL_FORMAT) {
    throw new TableError(
      `not a Mappa uplift model (format '${String(model.format)}', expected '${UPLIFT_MODEL_FORMAT}')`,
    );
  }
  const encoder = TabularEncoder.fromJSON(model.encoder).forTable(table);
  const rows = Array.from({ length: table.rows }, (_, row) => row);
  return predictUplift(model.parameters, {
    values: encoder.encode(table, rows),
    rows: table.rows,
    width: encoder.width,
  });
}
