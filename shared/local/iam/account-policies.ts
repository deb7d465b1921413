import type { Deployable } from '../../resources/deployables';

/**
 * The IAM view of a synthesized Mappa stack that the local double enforces:
 * each deployable's identity policies and the data bucket's resource policy,
 * with every CloudFormation intrinsic resolved to the local account's names.
 */

/** An IAM policy document as it appears in a template (after intrinsics are resolved). */
export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: readonly Record<string, unknown>[];
}

export interface DeployablePolicies {
  /** The role the deployable runs as (`arn:aws:iam::<account>:role/<deployable>` locally). */
  readonly roleArn: string;
  /** Inline and customer-managed policies attached to the role, by logical ID. */
  readonly policies: readonly { readonly name: string; readonly document: PolicyDocument }[];
}

export interface AccountPolicies<K extends string = Deployable> {
  readonly accountId: string;
  readonly region: string;
  readonly deployables: Readonly<Record<K, DeployablePolicies>>;
  /** Bucket policies by bucket name (e.g. the TLS-only deny). */
  readonly bucketPolicies: Readonly<Record<string, PolicyDocument>>;
}

/** The account and region the local double pretends to be. */
export const LOCAL_ACCOUNT_ID = '000000000000';

interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}
export interface SynthesizedTemplate {
  readonly Resources: Record<string, TemplateResource>;
}

export interface TemplatePolicyInputs<K extends string = Deployable> {
  readonly template: SynthesizedTemplate;
  /** Logical ID of each deployable's role in the template. */
  readonly roleLogicalIds: Readonly<Record<K, string>>;
  /** Physical name of each bucket (CloudFormation generates them in AWS; local mode names them). */
  readonly bucketNames: Readonly<Record<string, string>>;
  readonly region: string;
  readonly accountId?: string;
}

/**
 * Extracts each deployable's policies and the buckets' policies from a
 * synthesized template. Unknown intrinsics fail loudly: a policy the double
 * cannot read must not silently become "allow nothing" or "allow all".
 */
export function policiesFromTemplate<K extends string = Deployable>(
  inputs: TemplatePolicyInputs<K>,
): AccountPolicies<K> {
  const accountId = inputs.accountId ?? LOCAL_ACCOUNT_ID;
  const resolve = intrinsicResolver(inputs, accountId);
  const resources = inputs.template.Resources;

  const deployables = {} as Record<K, DeployablePolicies>;
  for (const [deployable, roleId] of Object.entries(inputs.roleLogicalIds) as [K, string][]) {
    if (resources[roleId]?.Type !== 'AWS::IAM::Role') {
      throw new Error(`policiesFromTemplate: ${deployable}'s role ${roleId} is not an AWS::IAM::Role`);
    }
    const policies = Object.entries(resources)
      .filter(([, resource]) => ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy'].includes(resource.Type))
      .filter(([, resource]) => refersTo(resource.Properties?.Roles, roleId))
      .map(([name, resource]) => ({
        name,
        document: resolve(resource.Properties?.PolicyDocument) as PolicyDocument,
      }));
    deployables[deployable] = { roleArn: `arn:aws:iam::${accountId}:role/${deployable}`, policies };
  }

  const bucketPolicies: Record<string, PolicyDocument> = {};
  for (const resource of Object.values(resources)) {
    if (resource.Type !== 'AWS::S3::BucketPolicy') continue;
    // Only the buckets the local double serves (the access-log bucket has no local twin).
    const ref = resource.Properties?.Bucket;
    const bucketId = isRecord(ref) && typeof ref.Ref === 'string' ? ref.Ref : undefined;
    const bucket = bucketId ? inputs.bucketNames[bucketId] : undefined;
    if (bucket) bucketPolicies[bucket] = resolve(resource.Properties?.PolicyDocument) as PolicyDocument;
  }
  return { accountId, region: inputs.region, deployables, bucketPolicies };
}

function refersTo(roles: unknown, logicalId: string): boolean {
  return Array.isArray(roles) && roles.some((role) => isRecord(role) && role.Ref === logicalId);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Resolves Ref, Fn::GetAtt, Fn::Join, Fn::Select, Fn::Split and pseudo parameters to local values. */
function intrinsicResolver<K extends string>(
  inputs: TemplatePolicyInputs<K>,
  accountId: string,
): (value: unknown) => unknown {
  const resources = inputs.template.Resources;
  const pseudo: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': inputs.region,
    'AWS::AccountId': accountId,
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': 'Mappa',
  };
  const physicalName = (logicalId: string): string => {
    const bucket = inputs.bucketNames[logicalId];
    if (bucket) return bucket;
    const resource = resources[logicalId];
    if (!resource) throw new Error(`policiesFromTemplate: reference to unknown resource ${logicalId}`);
    const named =
      resource.Properties?.TableName ??
      resource.Properties?.QueueName ??
      resource.Properties?.DeliveryStreamName;
    if (typeof named === 'string') return named;
    if (resource.Type === 'AWS::S3::Bucket') {
      throw new Error(`policiesFromTemplate: no local name given for bucket ${logicalId}`);
    }
    return logicalId;
  };
  const arnOf = (logicalId: string): string => {
    const type = resources[logicalId]?.Type;
    const name = physicalName(logicalId);
    switch (type) {
      case 'AWS::S3::Bucket':
        return `arn:aws:s3:::${name}`;
      case 'AWS::DynamoDB::Table':
        return `arn:aws:dynamodb:${inputs.region}:${accountId}:table/${name}`;
      case 'AWS::IAM::Role':
        return `arn:aws:iam::${accountId}:role/${name}`;
      case 'AWS::KinesisFirehose::DeliveryStream':
        return `arn:aws:firehose:${inputs.region}:${accountId}:deliverystream/${name}`;
      default: {
        // Other services (KMS, ECS, logs) are outside what the local double serves.
        const service = (type ?? 'unknown').split('::')[1]?.toLowerCase() ?? 'unknown';
        return `arn:aws:${service}:${inputs.region}:${accountId}:${name}`;
      }
    }
  };
  const resolve = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(resolve);
    if (!isRecord(value)) return value;
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const [key] = keys as [string];
      const argument = value[key];
      if (key === 'Ref' && typeof argument === 'string') return pseudo[argument] ?? physicalName(argument);
      if (key === 'Fn::GetAtt') {
        const [logicalId, attribute] = (Array.isArray(argument) ? argument : String(argument).split('.')) as [
          string,
          string,
        ];
        if (attribute === 'Arn') return arnOf(logicalId);
        return `${arnOf(logicalId)}/${attribute}`;
      }
      if (key === 'Fn::Join') {
        const [separator, parts] = argument as [string, unknown[]];
        return (resolve(parts) as unknown[]).map(String).join(separator);
      }
      if (key === 'Fn::Select') {
        const [index, list] = argument as [number | string, unknown];
        return (resolve(list) as unknown[])[Number(index)];
      }
      if (key === 'Fn::Split') {
        const [separator, text] = argument as [string, unknown];
        return String(resolve(text)).split(separator);
      }
      if (key.startsWith('Fn::')) throw new Error(`policiesFromTemplate: unsupported intrinsic ${key}`);
    }
    return Object.fromEntries(keys.map((key) => [key, resolve(value[key])]));
  };
  return resolve;
}
