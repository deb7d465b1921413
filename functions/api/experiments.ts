import { ExperimentConflict } from '../../shared/marketing/experiment-store';
import { experimentReport, experimentSchema } from '../../shared/marketing/experiments';
import {
  type ApiDeps,
  HttpError,
  json,
  jsonBody,
  makeApiHandler,
  parseInput,
  type RouteHandler,
} from '../../shared/serving/api';
import { containerApiDeps } from '../../shared/serving/container';
import { experimentPathSchema } from '../../shared/serving/schemas';

/** POST /v1/experiments: 201 when created, 200 for a repeated identical request, 409 for a different one. */
export const createExperiment: RouteHandler = async (event, deps) => {
  const definition = parseInput(experimentSchema, jsonBody(event), 'body');
  try {
    const { created, createdAt } = await deps.experiments.store.create(
      definition,
      deps.now?.() ?? new Date(),
    );
    return json(created ? 201 : 200, { ...definition, status: 'running', createdAt });
  } catch (error) {
    if (error instanceof ExperimentConflict) {
      throw new HttpError(409, 'experiment_exists', error.message, { field: 'experimentId', in: 'body' });
    }
    throw error;
  }
};

/** GET /v1/experiments/{experimentId}/report: per-variant outcomes, lifts with 95% CIs, p-values, power. */
export const getExperimentReport: RouteHandler = async (event, deps) => {
  const { experimentId } = parseInput(experimentPathSchema, event.pathParameters ?? {}, 'path');
  const definition = await deps.experiments.get(experimentId);
  if (!definition) {
    throw new HttpError(404, 'experiment_not_found', `experiment '${experimentId}' does not exist`, {
      field: 'experimentId',
      in: 'path',
    });
  }
  const outcomes = await deps.experiments.store.outcomes(experimentId);
  return json(200, experimentReport(definition, outcomes));
};

/** The Lambda handler over the given dependencies (the local API server passes its own). */
export const makeHandler = (depsFor: () => ApiDeps) =>
  makeApiHandler('experiments', { createExperiment, getExperimentReport }, depsFor);

export const handler = makeHandler(() => containerApiDeps('experiments'));
