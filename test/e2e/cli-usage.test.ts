import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = join(__dirname, '..', '..', 'shared', 'cli', 'bin.cjs');

function run(args: readonly string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/**
 * The CLI's promise for bad input: one line, `mappa: …`, exit 2 — never a page of help, a stack trace or a raw
 * EISDIR. Each case as a new user would type it.
 */
describe('mappa on bad input', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mappa-usage-'));
  const file = join(dir, 'existing.csv');
  writeFileSync(file, 'a,b\n1,2\n');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cases: [string, string[], RegExp][] = [
    ['an unknown command', ['nosuch'], /^mappa: unknown command 'nosuch' \(see mappa --help\)$/],
    [
      'an unknown option',
      ['train', '--bogus'],
      /^mappa: unknown option '--bogus' \(see mappa train --help\)$/,
    ],
    [
      'a missing required option',
      ['ingest', file],
      /^mappa: required option '--dataset <name>' not specified/,
    ],
    [
      'a word for --epochs',
      ['evaluate', '--interactions', file, '--epochs', 'abc'],
      /^mappa: --epochs must be a whole number between 1 and 1000, got 'abc'$/,
    ],
    [
      'a word for --port',
      ['serve', '--port', 'abc'],
      /^mappa: --port must be a whole number between 0 and 65535, got 'abc'$/,
    ],
    [
      '--limit past its maximum',
      ['export', 'recommendations', '--limit', '500'],
      /^mappa: --limit must be a whole number between 1 and 100, got '500'$/,
    ],
    [
      'an export --param that is not KEY=VALUE',
      ['export', 'recommendations', '--filter', 'shelf', '--param', 'categories'],
      /^mappa: --param takes KEY=VALUE with an upper-case KEY \(e\.g\. CATEGORIES=books,toys\), got 'categories'$/,
    ],
    ['forget with an empty user id', ['forget', ''], /^mappa: userId is empty$/],
    [
      'a word for --timeout',
      ['ingest', file, '--dataset', 'interactions', '--timeout', 'soon'],
      /^mappa: --timeout must be a whole number/,
    ],
    [
      'an unknown dataset',
      ['ingest', file, '--dataset', 'orders'],
      /^mappa: --dataset must be one of interactions, users, items, got 'orders'$/,
    ],
    [
      'a directory as --interactions',
      ['evaluate', '--interactions', dir],
      /^mappa: --interactions '.*' is a directory, not a file$/,
    ],
    [
      'a directory as --csv',
      ['propensity-eval', '--csv', dir, '--target', 'y'],
      /^mappa: --csv '.*' is a directory, not a file$/,
    ],
    [
      'a missing --csv file',
      ['ctr-eval', '--csv', join(dir, 'nope.csv'), '--label', 'clicked'],
      /^mappa: --csv file '.*nope\.csv' does not exist$/,
    ],
    [
      'a directory as --model',
      ['propensity-score', '--model', dir, '--csv', file],
      /^mappa: --model '.*' is a directory, not a file$/,
    ],
    [
      'a file as generate --out',
      ['generate', '--preset', 'tiny', '--out', file],
      /^mappa: --out '.*' is a file; give a directory$/,
    ],
    [
      'a directory as --save-model',
      ['propensity-eval', '--csv', file, '--target', 'b', '--save-model', dir],
      /^mappa: --save-model '.*' is a directory; give a file name$/,
    ],
  ];

  it.each(cases)('%s: one line, exit 2', async (_name, args, message) => {
    const result = await run(args);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr.trimEnd()).toMatch(message);
  });

  it('forgets a user on a local stack and reports what was deleted as JSON', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mappa-forget-'));
    try {
      const result = await run(['forget', 'u-gone', '--data-dir', dataDir, '--json']);
      expect(result).toMatchObject({ status: 0, stderr: '' });
      expect(JSON.parse(result.stdout)).toMatchObject({
        userId: 'u-gone',
        deleted: { features: false, recentInteractions: 0, vectors: 0, experimentAssignments: 0 },
        curatedData: { clean: true },
        purge: { users: 1, objectsRewritten: 0, rowsRemoved: 0 },
      });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('prints its version', async () => {
    const result = await run(['--version']);
    expect(result).toMatchObject({ status: 0, stderr: '' });
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
