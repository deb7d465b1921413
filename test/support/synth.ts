import { App, Aspects } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, SuppressionIgnoreAlways } from 'cdk-nag';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadStageConfig, type StageConfigInput } from '../../infra/config';
import { MappaStack } from '../../infra/mappa-stack';

const CDK_JSON_CONTEXT = (
  JSON.parse(readFileSync(join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  }
).context;

/**
 * Synthesizes the whole app as `cdk synth` does — cdk.json's context and feature flags, the stage config
 * read and validated from context, cdk-nag — with optional config overrides (as `-c key=value`).
 */
export function synthMappaStack(
  overrides: Partial<StageConfigInput> = {},
  options: { ignoreSuppressions?: boolean } = {},
): {
  stack: MappaStack;
  template: Template;
} {
  // Skip esbuild bundling in unit tests; test/infra/cdk-synth.test.ts runs the real synth with bundling.
  const app = new App({ context: { ...CDK_JSON_CONTEXT, ...overrides, 'aws:cdk:bundling-stacks': [] } });
  const config = loadStageConfig((key) => app.node.tryGetContext(key));
  const stack = new MappaStack(app, 'Mappa', { config });
  Aspects.of(app).add(
    new AwsSolutionsChecks({
      verbose: true,
      // Every finding reported as if nothing were suppressed: shows which suppressions still match one.
      ...(options.ignoreSuppressions
        ? {
            suppressionIgnoreCondition: new SuppressionIgnoreAlways(
              'checking that each suppression is needed',
            ),
          }
        : {}),
    }),
  );
  // Template.fromStack runs synthesis, which applies the cdk-nag aspect.
  const template = Template.fromStack(stack);
  return { stack, template };
}
