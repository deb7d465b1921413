import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { AccountPolicies } from '../shared/local/iam/account-policies';
import type * as SynthesizeModule from './synthesize-policies';

const REPO_ROOT = join(__dirname, '..');

/**
 * The policies the local IAM double enforces, taken from the same synthesis
 * `cdk synth` runs (cdk.json's context and feature flags, default stage
 * config, no bundling). Cached on disk by a digest of everything that shapes
 * the template, so only the first local run after an infra change pays the
 * few seconds synthesis takes.
 */
export interface LocalPolicyOptions {
  /** Name prefix of the local bucket and tables. @default the stage default */
  readonly namePrefix?: string;
  readonly region: string;
  /** Extra CDK context, e.g. a test that removes one grant. */
  readonly context?: Record<string, unknown>;
  /** Cache directory. @default node_modules/.cache/mappa-iam */
  readonly cacheDir?: string;
}

// Everything the template can depend on: infra/ imports names and prefixes from all over shared/.
const SOURCES = ['infra', 'shared', 'cdk.json', 'package-lock.json'];

export async function localAccountPolicies(options: LocalPolicyOptions): Promise<AccountPolicies> {
  const cacheDir = options.cacheDir ?? join(REPO_ROOT, 'node_modules', '.cache', 'mappa-iam');
  const digest = sourceDigest(options);
  const cached = join(cacheDir, `${digest}.json`);
  if (existsSync(cached)) return JSON.parse(readFileSync(cached, 'utf8')) as AccountPolicies;
  // aws-cdk-lib takes a second to load: only a cache miss pays for it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded lazily: most runs hit the cache
  const { synthesizeAccountPolicies } = require('./synthesize-policies') as typeof SynthesizeModule;
  const policies = synthesizeAccountPolicies(options);
  mkdirSync(cacheDir, { recursive: true });
  const partial = `${cached}.${process.pid}.tmp`;
  writeFileSync(partial, JSON.stringify(policies));
  renameSync(partial, cached);
  return policies;
}

function sourceDigest(options: LocalPolicyOptions): string {
  const hash = createHash('sha256').update(JSON.stringify({ ...options, cacheDir: undefined }));
  const visit = (path: string) => {
    const full = join(REPO_ROOT, path);
    if (!existsSync(full)) return;
    if (statSync(full).isDirectory()) {
      for (const entry of readdirSync(full).sort()) visit(join(path, entry));
    } else {
      hash.update(path).update(readFileSync(full));
    }
  };
  for (const source of SOURCES) visit(source);
  return hash.digest('hex').slice(0, 24);
}
