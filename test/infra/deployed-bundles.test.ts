import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { API_FUNCTIONS } from '../../shared/serving/routes';

const ROOT = join(__dirname, '..', '..');

/** Packages for the CLI, local mode, tests or the CDK app: none of them may reach deployed code. */
const NOT_DEPLOYED = [
  'aws-cdk-lib',
  'constructs',
  'cdk-nag',
  'dynalite',
  's3rver',
  'commander',
  'cli-progress',
  'chart.js',
  'tsx',
  'esbuild',
  '@cloud-copilot/iam-simulate',
];

/** Every deployed entry point: the Lambda handlers and the training task. */
function entryPoints(): string[] {
  const functions = join(ROOT, 'functions');
  return readdirSync(functions).flatMap((dir) =>
    readdirSync(join(functions, dir))
      .filter((file) => file.endsWith('.ts'))
      .map((file) => join('functions', dir, file)),
  );
}

/** The files a bundle of the entry point is made of, as the CDK's esbuild bundling would build it. */
function bundledInputs(entry: string): string[] {
  const result = buildSync({
    entryPoints: [join(ROOT, entry)],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    external: ['@aws-sdk/client-*', '@aws-sdk/lib-storage', '@tensorflow/*'],
    outdir: join(ROOT, 'node_modules', '.cache', 'deployed-bundles'),
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  // Files the bundler read but tree-shook away contribute no bytes: only what the output holds counts.
  return Object.values(result.metafile.outputs).flatMap((output) =>
    Object.entries(output.inputs)
      .filter(([, input]) => input.bytesInOutput > 0)
      .map(([path]) => path),
  );
}

function packagesOf(inputs: readonly string[]): Set<string> {
  return new Set(
    inputs.flatMap((input) => {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
      return match ? [match[1] as string] : [];
    }),
  );
}

describe('deployed code', () => {
  const entries = entryPoints();

  it('has an entry point per Lambda function and the training task', () => {
    expect(entries).toEqual(
      expect.arrayContaining(['functions/train/main.ts', 'functions/preprocess/handler.ts']),
    );
    expect(entries.filter((entry) => entry.startsWith('functions/api/'))).toHaveLength(API_FUNCTIONS.length);
  });

  it.each(entries)('%s bundles no CLI, local-mode, test or infra package', (entry) => {
    const inputs = bundledInputs(entry);
    const packages = packagesOf(inputs);
    expect(NOT_DEPLOYED.filter((name) => packages.has(name))).toEqual([]);
    // zod only as zod/mini with the English messages: the classic API brings back ~420 KB of methods and locales.
    const zodParts = new Set(
      inputs.flatMap((input) => /node_modules\/zod\/(v4\/[^/]+)\//.exec(input)?.[1] ?? []),
    );
    expect([...zodParts].filter((part) => !['v4/core', 'v4/mini', 'v4/locales'].includes(part))).toEqual([]);
    expect(inputs.filter((input) => /node_modules\/zod\/v4\/locales\/(?!en\.js)/.test(input))).toEqual([]);
  });
});
