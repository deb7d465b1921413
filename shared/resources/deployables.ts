/**
 * Every deployable that calls AWS with its own IAM role: the name the CDK app
 * gives its role (`MappaStack.deployableRoles()`) and the local double uses to
 * pick that role's policies for the deployable's SDK clients.
 */
export const API_DEPLOYABLES = {
  recommendations: 'api-recommendations',
  'similar-items': 'api-similar-items',
  events: 'api-events',
  model: 'api-model',
  segments: 'api-segments',
  experiments: 'api-experiments',
  filters: 'api-filters',
  privacy: 'api-privacy',
} as const;

export type ApiDeployableKey = keyof typeof API_DEPLOYABLES;

export const DEPLOYABLES = [
  'preprocess',
  ...Object.values(API_DEPLOYABLES),
  // Not our code: the role Firehose assumes to write delivered events into the drop folder (the local
  // double writes under it, so its grants are tested like ours).
  'events-delivery',
  'train',
] as const;

export type Deployable = (typeof DEPLOYABLES)[number];

/** The deployable serving one API concern (the API's function names are the keys). */
export function apiDeployable(fn: ApiDeployableKey): Deployable {
  return API_DEPLOYABLES[fn];
}
