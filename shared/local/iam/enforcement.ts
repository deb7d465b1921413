import { DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import { FirehoseServiceException } from '@aws-sdk/client-firehose';
import { S3ServiceException } from '@aws-sdk/client-s3';
import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import type { Deployable } from '../../resources/deployables';
import type { AccountPolicies, DeployablePolicies } from './account-policies';
import { type AuthorizationRequest, authorizationRequests, type SdkService } from './sdk-requests';
import { type IamDecision, type IamUsage, mergeIamUsage, usageKey } from './usage-report';

export type { IamDecision };

/**
 * The local double's IAM: every SDK call a deployable makes is evaluated
 * against that deployable's policies from the synthesized template (with
 * `@cloud-copilot/iam-simulate`, not a hand-written evaluator), and a denied
 * call fails as AWS fails it. Every decision is recorded, so a run shows each
 * role's real needs.
 */

export type IamService = SdkService;

/** Aggregates decisions by (deployable, action, granting pattern or denied resource). */
export class IamUsageRecorder {
  private readonly entries = new Map<string, IamDecision & { count: number }>();
  /** Exact (deployable, action, resource) triples, for tests that ask what touched one object. */
  private readonly exact = new Set<string>();

  record(decision: IamDecision): void {
    const key = usageKey(decision);
    const entry = this.entries.get(key);
    if (entry) entry.count += 1;
    else this.entries.set(key, { ...decision, count: 1 });
    if (this.exact.size < 100_000) {
      this.exact.add(`${decision.deployable} ${decision.action} ${decision.resource}`);
    }
  }

  /** The actions a deployable made on one exact resource ARN (first 100,000 distinct calls). */
  actionsOn(deployable: Deployable, resource: string): string[] {
    const prefix = `${deployable} `;
    return [...this.exact]
      .filter((call) => call.startsWith(prefix) && call.endsWith(` ${resource}`))
      .map((call) => call.slice(prefix.length, call.length - resource.length - 1))
      .sort();
  }

  /** Every distinct (deployable, action, resource pattern) seen, sorted. */
  usage(): IamUsage {
    return mergeIamUsage([[...this.entries.values()]]);
  }

  denied(): IamDecision[] {
    return this.usage().filter((entry) => !entry.allowed);
  }
}

/** Raised for a command the double has no IAM mapping for (add it to sdk-requests.ts). */
export class UnmappedCommandError extends Error {
  constructor(service: IamService, commandName: string) {
    super(
      `local IAM double: no authorization mapping for ${service} ${commandName}; add it to shared/local/iam/sdk-requests.ts`,
    );
    this.name = 'UnmappedCommandError';
  }
}

export class PolicyEvaluator {
  private readonly cache = new Map<string, Promise<IamVerdict>>();

  constructor(
    readonly policies: AccountPolicies,
    readonly recorder: IamUsageRecorder = new IamUsageRecorder(),
  ) {}

  /** The requests one SDK command makes, evaluated for a deployable; the first denied one, if any. */
  async authorize(
    deployable: Deployable,
    service: IamService,
    commandName: string,
    input: Record<string, unknown>,
  ): Promise<AuthorizationRequest | undefined> {
    const requests = authorizationRequests(service, commandName, input, this.policies);
    if (!requests) throw new UnmappedCommandError(service, commandName);
    for (const request of requests) {
      const decision = await this.evaluate(deployable, request);
      this.recorder.record({ deployable, action: request.action, resource: request.resource, ...decision });
      if (!decision.allowed) return request;
    }
    return undefined;
  }

  /** One request, cached by its exact content (the policies never change within a process). */
  evaluate(deployable: Deployable, request: AuthorizationRequest): Promise<IamVerdict> {
    const key = `${deployable}\u0000${request.action}\u0000${request.resource}\u0000${JSON.stringify(request.context ?? {})}`;
    let decision = this.cache.get(key);
    if (!decision) {
      decision = simulateRequest(this.policies, this.policies.deployables[deployable], request);
      if (this.cache.size > 50_000) this.cache.clear();
      this.cache.set(key, decision);
    }
    return decision;
  }
}

export interface IamVerdict {
  readonly allowed: boolean;
  /** The policy resource pattern that allowed the request. */
  readonly grantedBy?: string;
}

/**
 * One request of one role, evaluated by iam-simulate with the role's identity
 * policies and the bucket's resource policy. A resource with `*` asks whether
 * the role may make the call on any matching resource (the bundle check).
 */
export async function simulateRequest(
  account: Pick<AccountPolicies<string>, 'accountId' | 'bucketPolicies'>,
  role: DeployablePolicies,
  request: AuthorizationRequest,
  /** `Discovery` counts a statement whose conditions need context the request lacks as allowing (static checks). */
  mode: 'Strict' | 'Discovery' = 'Strict',
): Promise<IamVerdict> {
  const bucket = /^arn:aws:s3:::([^/*]+)/.exec(request.resource)?.[1];
  const resourcePolicy = bucket ? account.bucketPolicies[bucket] : undefined;
  const simulation = {
    identityPolicies: role.policies.map((policy) => ({ name: policy.name, policy: policy.document })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(resourcePolicy ? { resourcePolicy } : {}),
    request: {
      action: request.action,
      principal: role.roleArn,
      resource: { accountId: account.accountId, resource: request.resource },
      // In AWS the SDK always speaks TLS; the bucket's TLS-only policy must see that.
      contextVariables: { 'aws:SecureTransport': 'true', ...request.context },
    },
  } as unknown as Simulation;
  const result = await runSimulation(simulation, { simulationMode: mode });
  if (result.resultType === 'error') {
    throw new Error(
      `local IAM double: cannot evaluate ${request.action} on ${request.resource} for ${role.roleArn}: ${JSON.stringify(result.errors)}`,
    );
  }
  const allowed = result.overallResult === 'Allowed';
  if (!allowed || result.resultType !== 'single') return { allowed };
  const explains = result.result.analysis?.identityAnalysis?.allowStatements ?? [];
  const grantedBy = explains
    .flatMap((statement) => statement.explain.resources ?? [])
    .find((resource) => resource.matches)?.resource;
  return { allowed, ...(grantedBy ? { grantedBy } : {}) };
}

/** The error AWS answers a denied call with, as the SDK surfaces it. */
export function accessDenied(
  service: IamService,
  deployable: Deployable,
  roleArn: string,
  request: AuthorizationRequest,
): Error {
  const principal = roleArn.replace(':iam::', ':sts::').replace(':role/', ':assumed-role/');
  const message = `User: ${principal}/${deployable} is not authorized to perform: ${request.action} on resource: ${request.resource} because no identity-based policy allows the ${request.action} action`;
  if (service === 'S3') {
    return new S3ServiceException({
      name: 'AccessDenied',
      $fault: 'client',
      $metadata: { httpStatusCode: 403 },
      message,
    });
  }
  if (service === 'Firehose') {
    return new FirehoseServiceException({
      name: 'AccessDeniedException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
      message,
    });
  }
  return new DynamoDBServiceException({
    name: 'AccessDeniedException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message,
  });
}

interface MiddlewareClient {
  readonly middlewareStack: {
    add(middleware: unknown, options: { step: 'initialize'; name: string; override?: boolean }): void;
  };
}

/**
 * Adds IAM enforcement to one deployable's SDK client. S3 also answers a
 * missing object with 403 instead of 404 when the caller may not list the
 * bucket, as AWS does: code that treats "no such key" as "not there yet"
 * needs `s3:ListBucket` in the cloud, and so it does here.
 */
export function enforceIam(
  client: MiddlewareClient,
  service: IamService,
  deployable: Deployable,
  evaluator: PolicyEvaluator,
): void {
  const roleArn = evaluator.policies.deployables[deployable].roleArn;
  const middleware =
    (
      next: (args: { input: Record<string, unknown> }) => Promise<unknown>,
      context: { commandName?: string },
    ) =>
    async (args: { input: Record<string, unknown> }) => {
      const commandName = context.commandName ?? 'UnknownCommand';
      const denied = await evaluator.authorize(deployable, service, commandName, args.input);
      if (denied) throw accessDenied(service, deployable, roleArn, denied);
      try {
        return await next(args);
      } catch (error) {
        if (service === 'S3' && isMissingObject(error, commandName)) {
          const list: AuthorizationRequest = {
            action: 's3:ListBucket',
            resource: `arn:aws:s3:::${String(args.input.Bucket)}`,
          };
          const decision = await evaluator.evaluate(deployable, list);
          evaluator.recorder.record({ deployable, ...list, ...decision });
          if (!decision.allowed) throw accessDenied(service, deployable, roleArn, list);
        }
        throw error;
      }
    };
  client.middlewareStack.add(middleware, { step: 'initialize', name: 'mappaLocalIam', override: true });
}

function isMissingObject(error: unknown, commandName: string): boolean {
  if (commandName !== 'GetObjectCommand' && commandName !== 'HeadObjectCommand') return false;
  const name = (error as { name?: string } | undefined)?.name;
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata
    ?.httpStatusCode;
  return name === 'NoSuchKey' || name === 'NotFound' || status === 404;
}
