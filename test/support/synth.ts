import { App, Aspects } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { z } from 'zod';
import { stageConfigSchema } from '../../infra/config';
import { MappaStack } from '../../infra/mappa-stack';

/** Synthesizes the whole app as `cdk synth` does (with cdk-nag), with optional config overrides. */
export function synthMappaStack(overrides: Partial<z.input<typeof stageConfigSchema>> = {}): {
  stack: MappaStack;
  template: Template;
} {
  // Skip esbuild bundling in unit tests; test/infra/cdk-synth.test.ts runs the real synth with bundling.
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const config = stageConfigSchema.parse(overrides);
  const stack = new MappaStack(app, 'Mappa', { config });
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  // Template.fromStack runs synthesis, which applies the cdk-nag aspect.
  const template = Template.fromStack(stack);
  return { stack, template };
}
