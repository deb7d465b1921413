import { App, Aspects } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, SuppressionIgnoreAlways } from 'cdk-nag';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
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

/** Where global setup leaves the default app's template for the run's infra tests. */
const DEFAULT_TEMPLATE_PATH = join(
  __dirname,
  '..',
  '..',
  'node_modules',
  '.cache',
  'mappa-test',
  'default-template.json',
);

/**
 * Synthesizes the app with the default stage config once for the whole run (called by global setup when the run
 * includes infra tests), so test files that only read the default template do not each pay the synthesis.
 */
export function writeDefaultTemplate(): void {
  const json = JSON.stringify(synthMappaStack().template.toJSON());
  mkdirSync(join(DEFAULT_TEMPLATE_PATH, '..'), { recursive: true });
  const partial = `${DEFAULT_TEMPLATE_PATH}.${process.pid}.tmp`;
  writeFileSync(partial, json);
  renameSync(partial, DEFAULT_TEMPLATE_PATH);
}

/** Forgets a previous run's template (a run without infra tests must not leave a stale one behind). */
export function clearDefaultTemplate(): void {
  rmSync(DEFAULT_TEMPLATE_PATH, { force: true });
}

/** The default app's template: the one global setup synthesized, or a fresh synthesis when it did not. */
export function defaultTemplate(): Template {
  if (!existsSync(DEFAULT_TEMPLATE_PATH)) return synthMappaStack().template;
  return Template.fromJSON(
    JSON.parse(readFileSync(DEFAULT_TEMPLATE_PATH, 'utf8')) as Record<string, unknown>,
  );
}
