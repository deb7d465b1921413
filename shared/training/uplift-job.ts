import type { ExperimentDefinition } from '../marketing/experiments';
import { controlOf } from '../marketing/experiments';
import { deciles } from '../marketing/propensity-model';
import { type Table, TableError } from '../marketing/tabular';
import { evaluateUplift, scoreUplift, type UpliftModelArtifact } from '../marketing/uplift-eval';
import { featuresAsOf } from './propensity-job';
import type { FactRow } from './segment-users';
import type { ExperimentUpliftSummary } from '../contracts/artifacts';

/**
 * Uplift for each running experiment, fitted in the training job: treatment = the user's variant (any variant
 * against the control), outcome = converted in the experiment, features = the user's behaviour as of the
 * experiment's start (before the treatment could change it). Every user of the model is then scored on their
 * features as of the end of the data: whom the treatment would move most now. Served per user from DynamoDB
 * like propensity (`GET /v1/users/{userId}/uplift?experiment=…`).
 */
export interface ExperimentUpliftInput {
  readonly definition: ExperimentDefinition;
  readonly createdAt: Date;
  readonly assignments: readonly { userId: string; variant: string; conversions: number }[];
}

export interface ExperimentUplift {
  readonly summary: ExperimentUpliftSummary;
  readonly model?: UpliftModelArtifact;
  /** Per model user (aligned with the user ids): predicted uplift and decile (1 = contact first). */
  readonly scores?: { readonly uplift: Float64Array; readonly decile: Int8Array };
}

/** Fewer exposed users than this, or fewer converters than MIN_CONVERTERS in an arm: no model yet. */
export const MIN_EXPERIMENT_USERS = 200;
const MIN_CONVERTERS = 5;

function withColumns(table: Table, rows: readonly number[], extra: Record<string, readonly string[]>): Table {
  return {
    columns: [...table.columns, ...Object.keys(extra)],
    values: [
      ...table.values.map((column) => rows.map((row) => column[row] as string)),
      ...Object.values(extra),
    ],
    rows: rows.length,
  };
}

export function fitExperimentUplift(
  userIds: readonly string[],
  rows: readonly FactRow[],
  input: ExperimentUpliftInput,
  /** Every user's features at the end of the data (one table for all experiments): what the scores use. */
  current: Table,
): ExperimentUplift {
  const control = controlOf(input.definition);
  const experimentId = input.definition.experimentId;
  const index = new Map(userIds.map((userId, position) => [userId, position]));
  // Users the model knows (forgotten or unknown users have no features).
  const assigned = input.assignments.filter((entry) => index.has(entry.userId));
  const base = { experimentId, control, users: assigned.length };
  const arms = (treated: boolean) => assigned.filter((entry) => (entry.variant === control) !== treated);
  const converters = (entries: typeof assigned) => entries.filter((entry) => entry.conversions > 0).length;
  if (assigned.length < MIN_EXPERIMENT_USERS) {
    return {
      summary: {
        ...base,
        trained: false,
        reason: `${assigned.length} exposed users with history; at least ${MIN_EXPERIMENT_USERS} are needed`,
      },
    };
  }
  if (converters(arms(true)) < MIN_CONVERTERS || converters(arms(false)) < MIN_CONVERTERS) {
    return {
      summary: {
        ...base,
        trained: false,
        reason: `${converters(arms(false))} converters in the control and ${converters(arms(true))} among the treated; at least ${MIN_CONVERTERS} in each are needed`,
      },
    };
  }
  const before = featuresAsOf(userIds, rows, Math.floor(input.createdAt.getTime() / 1000));
  const positions = assigned.map((entry) => index.get(entry.userId) as number);
  const table = withColumns(before.table, positions, {
    variant: assigned.map((entry) => entry.variant),
    converted: assigned.map((entry) => (entry.conversions > 0 ? '1' : '0')),
  });
  let evaluation;
  try {
    evaluation = evaluateUplift(table, { treatment: { column: 'variant', control }, outcome: 'converted' });
  } catch (error) {
    if (!(error instanceof TableError)) throw error;
    return { summary: { ...base, trained: false, reason: error.message } };
  }
  const { result, model } = evaluation;
  const uplift = scoreUplift(model, current);
  return {
    summary: {
      ...base,
      trained: true,
      estimator: result.chosen.estimator,
      qini: Number(result.chosen.qini.toFixed(4)),
      auuc: Number(result.chosen.auuc.toFixed(4)),
      propensityQini: Number(result.baselines.propensity.qini.toFixed(4)),
      ate: { difference: result.ate.difference, ci95: result.ate.ci95, pValue: result.ate.pValue },
    },
    model,
    scores: { uplift, decile: deciles(uplift) },
  };
}
