import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const BIN = join(__dirname, '..', '..', 'shared', 'cli', 'bin.cjs');

/** Runs the `mappa` CLI as a user would, returning its exit code and output. */
export function runMappa(
  args: readonly string[],
  timeoutMs = 600_000,
): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: timeoutMs });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
