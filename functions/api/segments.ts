import {
  type ApiDeps,
  HttpError,
  json,
  makeApiHandler,
  parseInput,
  requireModel,
  type RouteHandler,
} from '../../shared/serving/api';
import { containerApiDeps } from '../../shared/serving/container';
import type { ServedModel } from '../../shared/serving/model-store';
import { userPathSchema } from '../../shared/serving/schemas';
import { readUserSegment } from '../../shared/serving/user-state';

function segmentsOf(model: ServedModel) {
  if (!model.segments) {
    throw new HttpError(
      503,
      'segments_not_ready',
      `model ${model.manifest.version} has no customer segments; the next training run computes them`,
    );
  }
  return model.segments;
}

/** GET /v1/segments: every segment's profile for the served model. */
export const getSegments: RouteHandler = async (_event, deps, scope) => {
  const model = await requireModel(deps, scope);
  const segments = segmentsOf(model);
  return json(200, {
    modelVersion: model.manifest.version,
    k: segments.k,
    segments: segments.profiles,
  });
};

/** GET /v1/users/{userId}/segment: the user's segment and its profile. */
export const getUserSegment: RouteHandler = async (event, deps, scope) => {
  const { userId } = parseInput(userPathSchema, event.pathParameters ?? {}, 'path');
  const model = await requireModel(deps, scope);
  const segments = segmentsOf(model);
  const segment = await readUserSegment(
    deps.dynamoDb,
    deps.tables.userVectors,
    userId,
    model.manifest.version,
  );
  const profile = segments.profiles.find((candidate) => candidate.segment === segment);
  if (segment === undefined || !profile) {
    throw new HttpError(
      404,
      'user_not_segmented',
      `user '${userId}' has no history in model ${model.manifest.version}; users are segmented at training time`,
      { field: 'userId', in: 'path' },
    );
  }
  return json(200, {
    userId,
    modelVersion: model.manifest.version,
    segment: profile.name,
    description: profile.description,
    profile,
  });
};

/** The Lambda handler over the given dependencies (the local API server passes its own). */
export const makeHandler = (depsFor: () => ApiDeps) =>
  makeApiHandler('segments', { getSegments, getUserSegment }, depsFor);

export const handler = makeHandler(() => containerApiDeps('segments'));
