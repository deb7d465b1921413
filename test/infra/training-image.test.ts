import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { trainingHeapMiB } from '../../infra/constructs/training-job';
import { synthMappaStack } from '../support/synth';

const ROOT = join(__dirname, '..', '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const json = (path: string) => JSON.parse(read(path)) as Record<string, Record<string, string>>;

describe('the training image', () => {
  const dockerfile = read('functions/train/Dockerfile');
  const stages = dockerfile.split('\n').filter((line) => line.startsWith('FROM '));

  it('pins every stage to the task’s platform and an exact Node release', () => {
    expect(stages).toHaveLength(3);
    for (const stage of stages) expect(stage).toMatch(/^FROM --platform=linux\/amd64 \$\{NODE_IMAGE\}/);
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:\d+\.\d+\.\d+-bookworm-slim$/m);
  });

  it('installs from lock files only, and fails the build if tfjs-node cannot load', () => {
    expect(dockerfile).not.toMatch(/^RUN .*npm install/m);
    expect(dockerfile).toContain('COPY layers/tfjs-node/package.json layers/tfjs-node/package-lock.json ./');
    expect(dockerfile).toContain('COPY functions/train/package.json functions/train/package-lock.json ./');
    expect(dockerfile).toContain(`RUN node -e "require('@tensorflow/tfjs-node')`);
    const layerLock = json('layers/tfjs-node/package-lock.json').packages as unknown as Record<
      string,
      { version?: string }
    >;
    expect(layerLock['node_modules/@tensorflow/tfjs-node']?.version).toBe(
      json('layers/tfjs-node/package.json').dependencies?.['@tensorflow/tfjs-node'],
    );
  });

  it('builds the bundle with only what it imports, at the versions the repository tests', () => {
    // What the entry point imports once bundled (TF.js stays external, from the native layer).
    const result = buildSync({
      entryPoints: [join(ROOT, 'functions/train/main.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      packages: 'external',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const imported = new Set(
      Object.values(result.metafile.outputs)
        .flatMap((output) => output.imports)
        .filter((entry) => entry.external && !entry.path.startsWith('node:'))
        .map((entry) =>
          entry.path
            .split('/')
            .slice(0, entry.path.startsWith('@') ? 2 : 1)
            .join('/'),
        ),
    );
    const image = json('functions/train/package.json');
    const root = json('package.json');
    const bundled = [...imported].filter((name) => !name.startsWith('@tensorflow/')).sort();
    expect(Object.keys(image.dependencies ?? {}).sort()).toEqual(bundled);
    for (const [name, version] of Object.entries({ ...image.dependencies, ...image.devDependencies })) {
      expect([name, root.dependencies?.[name] ?? root.devDependencies?.[name]]).toEqual([name, version]);
    }
    for (const name of [...imported].filter((entry) => entry.startsWith('@tensorflow/'))) {
      expect(json('layers/tfjs-node/package.json').dependencies).toHaveProperty([name]);
    }
  });

  it('gives V8 a heap derived from the task’s memory, and the run its lock table and time limit', () => {
    const { template } = synthMappaStack({ trainingMemoryMiB: 16384, trainingMaxMinutes: 90 });
    const [task] = Object.values(
      template.findResources('AWS::ECS::TaskDefinition', { Properties: { Memory: '16384' } }),
    );
    const environment = Object.fromEntries(
      (task?.Properties.ContainerDefinitions[0].Environment as { Name: string; Value: unknown }[]).map(
        (variable) => [variable.Name, variable.Value],
      ),
    );
    expect(environment).toMatchObject({
      NODE_OPTIONS: `--max-old-space-size=${trainingHeapMiB(16384)}`,
      MAPPA_TRAINING_MAX_MINUTES: '90',
      MAPPA_LEDGER_TABLE: expect.anything(),
      // Running experiments get an uplift model each.
      MAPPA_EXPERIMENTS_TABLE: expect.anything(),
    });
    expect(trainingHeapMiB(16384)).toBe(12288);
  });
});
