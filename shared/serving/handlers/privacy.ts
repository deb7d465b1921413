import { type ApiDeps, json, makeApiHandler, parseInput, type RouteHandler } from '../api';
import type { ApiSettings } from '../container';
import { type ForgetReport, forgetUser as forget } from '../forget-user';
import { userPathSchema } from '../schemas';

/** What the privacy function uses: deletes across the serving tables, and the tombstone. */
export interface PrivacyDeps extends ApiDeps {
  readonly forget: (userId: string, now: Date) => Promise<ForgetReport>;
}

export function privacyDeps(base: ApiDeps, _settings: ApiSettings): PrivacyDeps {
  return { ...base, forget: (userId, now) => forget(base.dynamoDb, base.tables, userId, now) };
}

/**
 * DELETE /v1/users/{userId}: 202 with what was deleted now and whether curated data is clean yet. Repeating
 * the request is safe and answers the current report (with `curatedData.clean` once the job has run).
 */
export const forgetUser: RouteHandler<PrivacyDeps> = async (event, deps) => {
  const { userId } = parseInput(userPathSchema, event.pathParameters ?? {}, 'path');
  const report = await deps.forget(userId, deps.now?.() ?? new Date());
  return json(202, report);
};

/** The Lambda handler over the given dependencies: the Lambda entry point (functions/api/) passes its container's, the local API server its own. */
export const makeHandler = (depsFor: () => PrivacyDeps) => makeApiHandler('privacy', { forgetUser }, depsFor);
