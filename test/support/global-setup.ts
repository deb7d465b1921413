import { rmSync } from 'node:fs';
import { IAM_USAGE_DIR } from './local-stack';

/** A fresh IAM usage record per run (see global-teardown.ts). */
export default function globalSetup(): void {
  rmSync(IAM_USAGE_DIR, { recursive: true, force: true });
}
