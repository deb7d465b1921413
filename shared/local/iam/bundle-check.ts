import type { AccountPolicies } from './account-policies';
import { simulateRequest } from './enforcement';
import { AUTHORIZATION_MAPPERS, type AuthorizationRequest, type SdkService } from './sdk-requests';

/**
 * The static half of the IAM double: which AWS SDK commands a Lambda bundle
 * can send, and whether its role allows each of them at all. The SDK is
 * external to the bundles, so every command appears as a property of the
 * required client module (`o.GetObjectCommand`), which minification keeps.
 */

export interface BundleCommand {
  readonly service: SdkService;
  readonly command: string;
}

/** `@aws-sdk/lib-storage`'s Upload sends these (a single put, or a multipart upload). */
const UPLOAD_COMMANDS = [
  'PutObjectCommand',
  'CreateMultipartUploadCommand',
  'UploadPartCommand',
  'CompleteMultipartUploadCommand',
  'AbortMultipartUploadCommand',
];

/** The SDK commands a bundle references; unknown `…Command` names come back with service undefined. */
export function sdkCommandsInBundle(code: string): { known: BundleCommand[]; unknown: string[] } {
  const names = new Set(
    [...code.matchAll(/\.([A-Z][A-Za-z0-9]+Command)\b/g)].map((match) => match[1] as string),
  );
  if (/require\("@aws-sdk\/lib-storage"\)/.test(code) && /\.Upload\b/.test(code)) {
    for (const name of UPLOAD_COMMANDS) names.add(name);
  }
  const known: BundleCommand[] = [];
  const unknown: string[] = [];
  for (const command of [...names].sort()) {
    const service = (['S3', 'DynamoDB', 'Firehose'] as const).find(
      (candidate) => AUTHORIZATION_MAPPERS[candidate][command],
    );
    if (service) known.push({ service, command });
    else unknown.push(command);
  }
  return { known, unknown };
}

/** Inputs that make each mapper name its actions; the resources are widened to wildcards below. */
const PROBE_INPUT = {
  Bucket: 'bucket',
  Key: 'key',
  CopySource: 'bucket/key',
  Delete: { Objects: [{ Key: 'key' }] },
  TableName: 'table',
  RequestItems: { table: {} },
  DeliveryStreamName: 'stream',
};

/**
 * The commands of a bundle the role cannot make on any resource of the data
 * bucket or the account's tables (each command's actions, resources widened to
 * the bucket's objects / the bucket / every table / every delivery stream).
 */
export async function commandsNotAllowed<K extends string>(
  policies: AccountPolicies<K>,
  role: K,
  commands: readonly BundleCommand[],
  bucket: string,
): Promise<{ command: string; action: string }[]> {
  const where = { region: policies.region, accountId: policies.accountId };
  const missing: { command: string; action: string }[] = [];
  for (const { service, command } of commands) {
    const requests = AUTHORIZATION_MAPPERS[service][command]?.(PROBE_INPUT, where) ?? [];
    for (const request of requests) {
      const widened: AuthorizationRequest = {
        action: request.action,
        resource:
          service === 'DynamoDB'
            ? `arn:aws:dynamodb:${where.region}:${where.accountId}:table/*`
            : service === 'Firehose'
              ? `arn:aws:firehose:${where.region}:${where.accountId}:deliverystream/*`
              : request.resource.includes('/')
                ? `arn:aws:s3:::${bucket}/*`
                : `arn:aws:s3:::${bucket}`,
      };
      // Discovery: a prefix-conditioned listing grant counts; which prefix the code lists is not in the bundle.
      const verdict = await simulateRequest(policies, policies.deployables[role], widened, 'Discovery');
      if (!verdict.allowed) missing.push({ command, action: request.action });
    }
  }
  return missing;
}
