import { rmSync } from 'node:fs';
import { IAM_USAGE_DIR } from './local-stack';
import { clearDefaultTemplate, writeDefaultTemplate } from './synth';

/**
 * Once per run: a fresh IAM usage record (see global-teardown.ts), and the default app synthesized once for
 * all infra tests when the run includes them (no path filter, or one naming test/infra).
 */
export default function globalSetup(globalConfig: { testPathPattern?: string }): void {
  rmSync(IAM_USAGE_DIR, { recursive: true, force: true });
  clearDefaultTemplate();
  const pattern = globalConfig.testPathPattern ?? '';
  if (pattern === '' || pattern.includes('infra')) writeDefaultTemplate();
}
