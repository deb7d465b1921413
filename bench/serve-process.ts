import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { EmbeddedStack } from '../shared/local/embedded-stack';
import { stateOfRunningStack, writeLocalState } from '../shared/local/state-file';

const ROOT = join(__dirname, '..');

/** `mappa serve` as its own process, connected to this process's stack like to `mappa local up`. */
export async function startServer(
  stack: EmbeddedStack,
  dataDir: string,
  extraArgs: readonly string[] = [],
): Promise<{ url: string; child: ChildProcess; handlerLatencies: number[] }> {
  writeLocalState(dataDir, stateOfRunningStack(stack));
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'shared', 'cli', 'main.ts'),
      'serve',
      '--port',
      '0',
      '--api-key',
      'bench',
      '--rate',
      '10000',
      '--burst',
      '10000',
      '--data-dir',
      dataDir,
      '--log-level',
      'info',
      ...extraArgs,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT },
  );
  // The server logs one JSON line per request with the handler-side latency (Powertools: info on stdout,
  // warnings and errors on stderr); its banner with the URL is a plain line on stdout.
  const handlerLatencies: number[] = [];
  let announce: (url: string) => void = () => undefined;
  const url = new Promise<string>((resolve) => {
    announce = resolve;
  });
  for (const stream of [child.stdout, child.stderr]) {
    let pending = '';
    stream?.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith('{')) {
          const match = /Mappa API on (http:\/\/\S+)/.exec(line);
          if (match) announce(match[1] as string);
          continue;
        }
        const entry = JSON.parse(line) as { message?: string; latencyMs?: number };
        if (entry.message === 'request' && typeof entry.latencyMs === 'number')
          handlerLatencies.push(entry.latencyMs);
        else process.stderr.write(`${line}\n`);
      }
    });
  }
  const exited = new Promise<never>((_, reject) =>
    child.on('exit', (code) => reject(new Error(`mappa serve exited ${code}`))),
  );
  return { url: await Promise.race([url, exited]), child, handlerLatencies };
}
