import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import {
  type AccountPolicies,
  policiesFromTemplate,
  type SynthesizedTemplate,
} from '../shared/local/iam/account-policies';
import { localBucketName } from '../shared/resources/definitions';
import { type Deployable, DEPLOYABLES } from '../shared/resources/deployables';
import { loadStageConfig } from './config';
import { REPO_ROOT } from './constructs/app-function';
import type { LocalPolicyOptions } from './local-policies';
import { MappaStack } from './mappa-stack';

/** Synthesizes the app in-process and reads each deployable's policies from the template. */
export function synthesizeAccountPolicies(options: LocalPolicyOptions): AccountPolicies {
  const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  const context: Record<string, unknown> = {
    ...cdkJson.context,
    ...(options.namePrefix ? { namePrefix: options.namePrefix } : {}),
    ...options.context,
    'aws:cdk:bundling-stacks': [],
  };
  const app = new App({ context });
  const config = loadStageConfig((key) => app.node.tryGetContext(key));
  const stack = new MappaStack(app, 'Mappa', { config });
  const template = app.synth().getStackByName(stack.stackName).template as SynthesizedTemplate;
  const roles = stack.deployableRoles();
  const roleLogicalIds = Object.fromEntries(
    DEPLOYABLES.map((deployable) => [deployable, logicalIdOf(roles[deployable])]),
  ) as Record<Deployable, string>;
  return policiesFromTemplate({
    template,
    roleLogicalIds,
    bucketNames: { [logicalIdOf(stack.dataLake.bucket)]: localBucketName(config.namePrefix) },
    region: options.region,
  });
}

function logicalIdOf(construct: iam.IRole | { node: { defaultChild?: unknown } }): string {
  const child = construct.node.defaultChild;
  if (!child) throw new Error('local policies: construct without a CloudFormation resource');
  return Stack.of(construct as iam.IRole).getLogicalId(child as never);
}
