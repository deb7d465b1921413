#!/usr/bin/env node
// Entry point of the `mappa` command. It runs compiled JavaScript: the CLI bundled by esbuild into
// node_modules/.cache/mappa-cli/, rebuilt when a source file changes (keyed by the sources' sizes and
// modification times), so a call does not compile TypeScript at start-up. Set MAPPA_CLI_TSX=1 to run the
// TypeScript through tsx instead (debugging).
const { createHash } = require('node:crypto');
const { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } = require('node:fs');
const { dirname, join } = require('node:path');

const REPO = join(__dirname, '..', '..');
const SOURCES = ['shared', 'infra', 'functions', 'package.json', 'package-lock.json'];

function sourceDigest() {
  const hash = createHash('sha256').update(REPO);
  const visit = (path) => {
    const stat = statSync(path);
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path).sort()) if (entry !== 'node_modules') visit(join(path, entry));
    } else if (/\.(ts|cjs|json|wasm)$/.test(path)) {
      hash.update(`${path}:${stat.size}:${stat.mtimeMs}`);
    }
  };
  for (const source of SOURCES) if (existsSync(join(REPO, source))) visit(join(REPO, source));
  return hash.digest('hex').slice(0, 20);
}

/** Bundles the CLI; each module keeps its own source directory as __dirname (files it reads beside it). */
async function build(outfile) {
  const { build: esbuild } = require('esbuild');
  const partial = `${outfile}.${process.pid}.tmp`;
  await esbuild({
    entryPoints: [join(__dirname, 'main.ts')],
    outfile: partial,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    logLevel: 'error',
    plugins: [
      {
        name: 'source-dirname',
        setup(plugin) {
          plugin.onLoad({ filter: /\.ts$/ }, (args) => {
            const text = require('node:fs').readFileSync(args.path, 'utf8');
            if (!text.includes('__dirname')) return undefined;
            return {
              contents: `const __dirname = ${JSON.stringify(dirname(args.path))};\n${text}`,
              loader: 'ts',
            };
          });
        },
      },
    ],
  });
  renameSync(partial, outfile);
  // Bundles of older sources are dead weight.
  for (const entry of readdirSync(dirname(outfile)))
    if (entry.endsWith('.cjs') && join(dirname(outfile), entry) !== outfile)
      rmSync(join(dirname(outfile), entry), { force: true });
}

async function main() {
  if (process.env.MAPPA_CLI_TSX === '1') {
    require('tsx/cjs');
    require('./main.ts');
    return;
  }
  const outfile = join(REPO, 'node_modules', '.cache', 'mappa-cli', `${sourceDigest()}.cjs`);
  if (!existsSync(outfile)) {
    mkdirSync(dirname(outfile), { recursive: true });
    await build(outfile);
  }
  require(outfile);
}

main().catch((error) => {
  process.stderr.write(`mappa: could not start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
