import {
  createExperiment as storeExperiment,
  ExperimentConflict,
  getExperiment,
  importAssignment,
  type ImportOutcome,
  variantTotals,
} from '../../marketing/experiment-store';
import { noteExperimentExposure } from '../user-state';
import { importAssignments, unknownArm } from '../../marketing/experiment-import';
import type { ExperimentDefinition, VariantTotals } from '../../marketing/experiments';
import {
  assignmentImportSchema,
  DEFAULT_ATTRIBUTION_WINDOW_DAYS,
  experimentReportFromTotals,
  experimentSchema,
} from '../../marketing/experiments';
import {
  type ApiDeps,
  HttpError,
  json,
  jsonBody,
  makeApiHandler,
  parseInput,
  type RouteHandler,
} from '../api';
import type { ApiSettings } from '../container';
import { ExperimentDefinitions } from '../experiment-directory';
import { attributionQuerySchema, experimentPathSchema, MAX_ATTRIBUTION_DAYS } from '../schemas';
import { attributionReport, type AttributionCounters } from '../../marketing/attribution';
import { readCounters } from '../../marketing/attribution-store';

/** What the experiments function uses: create, read definitions, read outcomes. */
export interface ExperimentsDeps extends ApiDeps {
  readonly experiments: ExperimentDefinitions;
  readonly storeExperiment: (
    definition: ExperimentDefinition,
    now: Date,
  ) => Promise<{ created: boolean; createdAt: string }>;
  /** Each variant's pre-aggregated totals (O(variants), whatever the number of exposures). */
  readonly totals: (experimentId: string) => Promise<Map<string, VariantTotals>>;
  readonly attributionCounters: (
    days: readonly string[],
  ) => Promise<{ key: string; counters: Partial<AttributionCounters> }[]>;
  /** Puts a user in an arm from outside, noting it on the user's record so their events count as outcomes. */
  readonly importAssignment: (
    experimentId: string,
    userId: string,
    variant: string,
    exposedAt: Date,
    windowDays: number,
  ) => Promise<{ outcome: ImportOutcome; assigned: string }>;
}

export function experimentsDeps(base: ApiDeps, _settings: ApiSettings): ExperimentsDeps {
  const table = { client: base.dynamoDb, table: base.tables.experiments };
  return {
    ...base,
    experiments: new ExperimentDefinitions((experimentId) => getExperiment(table, experimentId)),
    storeExperiment: (definition, now) => storeExperiment(table, definition, now),
    totals: (experimentId) => variantTotals(table, experimentId),
    attributionCounters: (days) =>
      readCounters({ client: base.dynamoDb, table: base.tables.attribution }, days),
    importAssignment: async (experimentId, userId, variant, exposedAt, windowDays) => {
      const result = await importAssignment(table, experimentId, userId, variant, exposedAt, windowDays);
      // Noted on every outcome (a repeated import re-notes, harmless): the events function attributes from it.
      await noteExperimentExposure(base.dynamoDb, base.tables.users, userId, experimentId);
      return result;
    },
  };
}

/** POST /v1/experiments: 201 when created, 200 for a repeated identical request, 409 for a different one. */
export const createExperiment: RouteHandler<ExperimentsDeps> = async (event, deps) => {
  const definition = parseInput(experimentSchema, jsonBody(event), 'body');
  try {
    const { created, createdAt } = await deps.storeExperiment(definition, deps.now?.() ?? new Date());
    return json(created ? 201 : 200, { ...definition, status: 'running', createdAt });
  } catch (error) {
    if (error instanceof ExperimentConflict) {
      throw new HttpError(409, 'experiment_exists', error.message, { field: 'experimentId', in: 'body' });
    }
    throw error;
  }
};

/** GET /v1/experiments/{experimentId}/report: per-variant outcomes, lifts with 95% CIs, p-values, power. */
export const getExperimentReport: RouteHandler<ExperimentsDeps> = async (event, deps) => {
  const { experimentId } = parseInput(experimentPathSchema, event.pathParameters ?? {}, 'path');
  const definition = await deps.experiments.get(experimentId);
  if (!definition) {
    throw new HttpError(404, 'experiment_not_found', `experiment '${experimentId}' does not exist`, {
      field: 'experimentId',
      in: 'path',
    });
  }
  return json(200, experimentReportFromTotals(definition, await deps.totals(experimentId)));
};

/**
 * POST /v1/experiments/{experimentId}/assignments: who was in which arm of a campaign sent outside Mappa (an
 * e-mail, a discount), up to 1,000 per request. Each user counts once; a repeated import changes nothing, and a
 * user already in another arm keeps it (counted as a conflict, with examples).
 */
export const postAssignments: RouteHandler<ExperimentsDeps> = async (event, deps) => {
  const { experimentId } = parseInput(experimentPathSchema, event.pathParameters ?? {}, 'path');
  const { assignments } = parseInput(assignmentImportSchema, jsonBody(event), 'body');
  const definition = await deps.experiments.get(experimentId);
  if (!definition) {
    throw new HttpError(404, 'experiment_not_found', `experiment '${experimentId}' does not exist`, {
      field: 'experimentId',
      in: 'path',
    });
  }
  const unknown = unknownArm(definition, assignments);
  if (unknown) {
    const field = `assignments[${unknown.index}].variant`;
    throw new HttpError(400, 'validation_error', `body field '${field}' ${unknown.message}`, {
      field,
      in: 'body',
    });
  }
  const summary = await importAssignments(
    (userId, variant, exposedAt) =>
      deps.importAssignment(
        experimentId,
        userId,
        variant,
        exposedAt,
        definition.attributionWindowDays ?? DEFAULT_ATTRIBUTION_WINDOW_DAYS,
      ),
    assignments,
    deps.now?.() ?? new Date(),
  );
  return json(200, { experimentId, ...summary });
};

const DAY_MS = 86_400_000;

/** GET /v1/attribution?from=&to=: impressions, clicks, conversions, revenue and rates with 95% CIs per context. */
export const getAttribution: RouteHandler<ExperimentsDeps> = async (event, deps) => {
  const query = parseInput(attributionQuerySchema, event.queryStringParameters ?? {}, 'query');
  const today = (deps.now?.() ?? new Date()).toISOString().slice(0, 10);
  const to = query.to ?? (query.from && query.from > today ? query.from : today);
  const from = query.from ?? new Date(Date.parse(`${to}T00:00:00Z`) - 6 * DAY_MS).toISOString().slice(0, 10);
  const days: string[] = [];
  for (let at = Date.parse(`${from}T00:00:00Z`); at <= Date.parse(`${to}T00:00:00Z`); at += DAY_MS) {
    days.push(new Date(at).toISOString().slice(0, 10));
  }
  if (days.length > MAX_ATTRIBUTION_DAYS) {
    throw new HttpError(
      400,
      'validation_error',
      `query field 'from' makes a range of ${days.length} days; a report covers at most ${MAX_ATTRIBUTION_DAYS}`,
      { field: 'from', in: 'query' },
    );
  }
  return json(200, attributionReport(from, to, await deps.attributionCounters(days)));
};

/** The Lambda handler over the given dependencies: the Lambda entry point (functions/api/) passes its container's, the local API server its own. */
export const makeHandler = (depsFor: () => ExperimentsDeps) =>
  makeApiHandler(
    'experiments',
    { createExperiment, getExperimentReport, getAttribution, importAssignments: postAssignments },
    depsFor,
  );
