import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatIamUsage, type IamUsage, mergeIamUsage } from '../../shared/local/iam/usage-report';
import { IAM_USAGE_DIR } from './local-stack';

/**
 * After the whole run: merges every test stack's IAM usage into one record,
 * `reports/test-iam-usage.md` (+ `.json`), so a reader sees each role's real
 * needs as the tests exercised them with enforcement on.
 */
export default function globalTeardown(): void {
  if (!existsSync(IAM_USAGE_DIR)) return;
  const records = readdirSync(IAM_USAGE_DIR)
    .filter((name) => name.endsWith('.json'))
    .map((name) => JSON.parse(readFileSync(join(IAM_USAGE_DIR, name), 'utf8')) as IamUsage);
  rmSync(IAM_USAGE_DIR, { recursive: true, force: true });
  if (records.length === 0) return;
  const usage = mergeIamUsage(records);
  const out = join(__dirname, '..', '..', 'reports');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'test-iam-usage.json'), `${JSON.stringify(usage, null, 2)}\n`);
  writeFileSync(
    join(out, 'test-iam-usage.md'),
    formatIamUsage(usage, 'IAM usage recorded by the test suite'),
  );
}
