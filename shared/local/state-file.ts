import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as z from '../data/schema';
import type { EmbeddedStack } from './embedded-stack';

/** What a running `mappa local up` records so other commands can find it. */
export const localStateSchema = z.object({
  pid: z.int().check(z.positive()),
  s3Endpoint: z.url(),
  dynamoDbEndpoint: z.url(),
  firehoseEndpoint: z.url(),
  dataBucket: z.string(),
  tables: z.record(z.string(), z.string()),
  eventsStream: z.string(),
  startedAt: z.string(),
});
export type LocalState = z.output<typeof localStateSchema>;

export function stateFilePath(dataDir: string): string {
  return join(dataDir, 'local.json');
}

/** The state this process records for a stack it runs, so other commands can connect to it. */
export function stateOfRunningStack(stack: EmbeddedStack): LocalState {
  return {
    pid: process.pid,
    s3Endpoint: stack.s3Endpoint,
    dynamoDbEndpoint: stack.dynamoDbEndpoint,
    firehoseEndpoint: stack.firehose.endpoint,
    dataBucket: stack.names.dataBucket,
    tables: stack.names.tables,
    eventsStream: stack.names.eventsStream,
    startedAt: new Date().toISOString(),
  };
}

export function writeLocalState(dataDir: string, state: LocalState): void {
  const path = stateFilePath(dataDir);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(state, null, 2)}\n`);
}

/** The recorded state, or undefined when no stack was started (or the file is unreadable). */
export function readLocalState(dataDir: string): LocalState | undefined {
  const path = stateFilePath(dataDir);
  if (!existsSync(path)) return undefined;
  try {
    const parsed = localStateSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export function clearLocalState(dataDir: string): void {
  rmSync(stateFilePath(dataDir), { force: true });
}

/** True when a process with this pid exists. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
