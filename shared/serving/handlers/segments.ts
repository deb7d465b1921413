import {
  type ApiDeps,
  HttpError,
  json,
  makeApiHandler,
  parseInput,
  requireModel,
  type RouteHandler,
} from '../api';
import { type ApiSettings, modelStore } from '../container';
import { type ModelStore, type SegmentsModel, s3SegmentsSource } from '../model-store';
import { propensityQuerySchema, upliftQuerySchema, userPathSchema } from '../schemas';
import { readUserScores } from '../user-state';

/** Segments and propensity need profiles and summaries only, never vectors or weights. */
export interface SegmentsDeps extends ApiDeps {
  readonly models: ModelStore<SegmentsModel>;
}

export function segmentsDeps(base: ApiDeps, settings: ApiSettings): SegmentsDeps {
  return { ...base, models: modelStore(base, settings, s3SegmentsSource) };
}

function segmentsOf(model: SegmentsModel) {
  if (!model.segments) {
    throw new HttpError(
      503,
      'segments_not_ready',
      `model ${model.manifest.version} has no customer segments; the next training run computes them`,
    );
  }
  return model.segments;
}

/** 404 for a user the training job did not segment or score (no history in this model version). */
function userNotInModel(code: string, done: string, userId: string, model: SegmentsModel): HttpError {
  return new HttpError(
    404,
    code,
    `user '${userId}' has no history in model ${model.manifest.version}; users are ${done} at training time`,
    { field: 'userId', in: 'path' },
  );
}

/** GET /v1/segments: every segment's profile for the served model. */
export const getSegments: RouteHandler<SegmentsDeps> = async (_event, deps, scope) => {
  const model = await requireModel(deps.models, scope);
  const segments = segmentsOf(model);
  return json(200, {
    modelVersion: model.manifest.version,
    k: segments.k,
    segments: segments.profiles,
  });
};

/** GET /v1/users/{userId}/segment: the user's segment and its profile. */
export const getUserSegment: RouteHandler<SegmentsDeps> = async (event, deps, scope) => {
  const { userId } = parseInput(userPathSchema, event.pathParameters ?? {}, 'path');
  const model = await requireModel(deps.models, scope);
  const segments = segmentsOf(model);
  const scores = await readUserScores(deps.dynamoDb, deps.tables.userVectors, userId, model.manifest.version);
  const segment = scores?.segment;
  const profile = segments.profiles.find((candidate) => candidate.segment === segment);
  if (segment === undefined || !profile) {
    throw userNotInModel('user_not_segmented', 'segmented', userId, model);
  }
  return json(200, {
    userId,
    modelVersion: model.manifest.version,
    segment: profile.name,
    description: profile.description,
    profile,
  });
};

/** GET /v1/users/{userId}/propensity?target=purchase|churn: the probability scored at training, and its decile. */
export const getUserPropensity: RouteHandler<SegmentsDeps> = async (event, deps, scope) => {
  const { userId } = parseInput(userPathSchema, event.pathParameters ?? {}, 'path');
  const { target } = parseInput(propensityQuerySchema, event.queryStringParameters ?? {}, 'query');
  const model = await requireModel(deps.models, scope);
  const summary = model.propensity?.[target];
  if (!summary?.trained) {
    throw new HttpError(
      503,
      'propensity_not_ready',
      summary?.reason
        ? `model ${model.manifest.version} has no ${target} propensity: ${summary.reason}`
        : `model ${model.manifest.version} has no ${target} propensity; the next training run computes it`,
    );
  }
  const scores = await readUserScores(deps.dynamoDb, deps.tables.userVectors, userId, model.manifest.version);
  const score = scores?.propensity[target];
  if (!score) {
    throw userNotInModel('user_not_scored', 'scored', userId, model);
  }
  return json(200, {
    userId,
    modelVersion: model.manifest.version,
    target,
    probability: score.probability,
    decile: score.decile,
    definition: summary.definition,
    validationAuc: summary.validationAuc ?? null,
  });
};

/** GET /v1/users/{userId}/uplift?experiment=…: the uplift the training job scored for the user in that experiment. */
export const getUserUplift: RouteHandler<SegmentsDeps> = async (event, deps, scope) => {
  const { userId } = parseInput(userPathSchema, event.pathParameters ?? {}, 'path');
  const { experiment } = parseInput(upliftQuerySchema, event.queryStringParameters ?? {}, 'query');
  const model = await requireModel(deps.models, scope);
  const summary = model.uplift?.find((entry) => entry.experimentId === experiment);
  if (!summary) {
    throw new HttpError(
      404,
      'experiment_not_scored',
      `model ${model.manifest.version} has no uplift model for experiment '${experiment}': it was not running when the model was trained`,
      { field: 'experiment', in: 'query' },
    );
  }
  if (!summary.trained) {
    throw new HttpError(
      503,
      'uplift_not_ready',
      `model ${model.manifest.version} has no uplift model for experiment '${experiment}': ${summary.reason ?? 'not enough data'}`,
    );
  }
  const scores = await readUserScores(deps.dynamoDb, deps.tables.userVectors, userId, model.manifest.version);
  const score = scores?.uplift[experiment];
  if (!score) throw userNotInModel('user_not_scored', 'scored', userId, model);
  return json(200, {
    userId,
    modelVersion: model.manifest.version,
    experimentId: experiment,
    control: summary.control,
    uplift: score.value,
    decile: score.decile,
    estimator: summary.estimator ?? '',
    qini: summary.qini ?? 0,
    experimentUsers: summary.users,
  });
};

/** The Lambda handler over the given dependencies: the Lambda entry point (functions/api/) passes its container's, the local API server its own. */
export const makeHandler = (depsFor: () => SegmentsDeps) =>
  makeApiHandler('segments', { getSegments, getUserSegment, getUserPropensity, getUserUplift }, depsFor);
