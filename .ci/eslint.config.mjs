// Lint rules for the whole repository (run by `npm run lint`, part of `npm test`).
import jest from 'eslint-plugin-jest';
import tseslint from 'typescript-eslint';

const NODE_PREFIX = {
  regex: '^(fs|path|os|crypto|stream|zlib|http|net|events|child_process|url|util)$',
  message: 'Use the node: prefix.',
};

// Deployed code validates with zod/mini through shared/data/schema (classic zod put ~440 KB into every Lambda);
// the CDK app (infra/), never bundled into a function, may use the classic API.
const CLASSIC_ZOD = {
  regex: '^zod(/.*)?$',
  message: "Import { z } from shared/data/schema (zod/mini with English messages), not from 'zod'.",
};
const PATTERNS = [NODE_PREFIX, CLASSIC_ZOD];

/**
 * Dependency direction (docs/architecture in README): every arrow points down —
 * apps (functions/, shared/local, shared/cli, infra/) → jobs (shared/training, shared/report) → domain
 * (shared/serving, shared/marketing, shared/ingest, shared/feature-store, shared/ml, shared/synthetic) →
 * contracts and platform (shared/contracts, shared/data, shared/resources, shared/config, shared/aws,
 * shared/observability). Within the domain, the feature store does not know ingestion, ML does not know the
 * domains that use it, and marketing does not know serving.
 */
function layerRules() {
  const areas = (names) => `(^|/)(${names.join('|')})/`;
  const jobsAndApps = ['training', 'report', 'local', 'cli', 'functions', 'infra'];
  const domain = ['ingest', 'feature-store', 'ml', 'marketing', 'serving', 'synthetic'];
  const layer = (files, forbidden, why) => ({
    files,
    rules: {
      'no-restricted-imports': ['error', { patterns: [...PATTERNS, { regex: areas(forbidden), message: why }] }],
    },
  });
  const platform = ['contracts', 'data', 'resources', 'config', 'aws', 'observability'].map((area) => `shared/${area}/**/*.ts`);
  return [
    layer(platform, [...domain, ...jobsAndApps], 'Contracts and platform code is the bottom layer: it imports no domain, job or app module.'),
    layer(['shared/{ingest,serving,marketing,synthetic}/**/*.ts'], jobsAndApps, 'Domain modules do not import jobs or apps (training, report, local, cli, functions, infra).'),
    layer(['shared/feature-store/**/*.ts'], ['ingest', 'ml', 'marketing', 'serving', ...jobsAndApps], 'The feature store is below ingestion and serving: it does not import them.'),
    layer(['shared/ml/**/*.ts'], ['ingest', 'feature-store', 'marketing', 'serving', ...jobsAndApps], 'ML code is used by the domains; it imports only contracts and platform.'),
    layer(['shared/marketing/**/*.ts'], ['serving', ...jobsAndApps], 'Marketing science does not import serving (serving uses marketing).'),
    layer(['shared/{training,report}/**/*.ts'], ['local', 'cli', 'functions', 'infra'], 'Jobs do not import apps.'),
    layer(['shared/{local,cli}/**/*.ts'], ['functions'], 'Lambda entry points (functions/) are leaves: import the handler modules under shared/ instead.'),
    layer(['functions/**/*.ts'], ['local', 'cli', 'infra'], 'A Lambda bundles only what it runs: no local-mode, CLI or infra code.'),
  ];
}

export default tseslint.config(
  { ignores: ['**/node_modules/**', 'cdk.out/**', '.mappa/**', '.scratch/**', 'bench/results/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-non-null-assertion': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-restricted-imports': ['error', { patterns: PATTERNS }],
    },
  },
  ...layerRules(),
  {
    files: ['infra/**/*.ts', 'shared/data/schema.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [NODE_PREFIX] }] },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', process: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['test/**/*.ts'],
    ...jest.configs['flat/recommended'],
    rules: {
      ...jest.configs['flat/recommended'].rules,
      'jest/no-focused-tests': 'error',
      'jest/no-disabled-tests': 'error',
      'jest/expect-expect': ['error', { assertFunctionNames: ['expect', 'assert*', '**.hasResourceProperties', '**.hasResource', '**.resourceCountIs'] }],
    },
  },
);
