import { existsSync, statSync } from 'node:fs';
/** An error the CLI reports as one clear line (no stack trace), with its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Runs a command action, turning any failure into a one-line message and an exit code. */
export function runAction<Args extends unknown[]>(
  action: (...args: Args) => Promise<void>,
): (...args: Args) => Promise<void> {
  return async (...args: Args) => {
    try {
      await action(...args);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(`mappa: ${message}\n`);
      if (process.env.MAPPA_DEBUG && error instanceof Error && error.stack)
        process.stderr.write(`${error.stack}\n`);
      process.exitCode = error instanceof CliError ? error.exitCode : 1;
    }
  };
}

/** Parses a whole number option, naming the flag when it is not one. */
export function parseIntegerOption(flag: string, min = 0, max = Number.MAX_SAFE_INTEGER) {
  return (raw: string): number => {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new CliError(`${flag} must be a whole number between ${min} and ${max}, got '${raw}'`, 2);
    }
    return value;
  };
}

/** A repeatable, comma-separated list option (`--drop a,b --drop c`): trimmed names, empty ones left out. */
export function collectList(value: string, previous: string[]): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean),
  ];
}

/** An input file flag: it must name an existing file (not a directory), else a one-line error, exit 2. */
export function requireInputFile(path: string, flag: string): void {
  if (!existsSync(path)) throw new CliError(`${flag} file '${path}' does not exist`, 2);
  if (!statSync(path).isFile()) throw new CliError(`${flag} '${path}' is a directory, not a file`, 2);
}

/** An output file flag: it may not name an existing directory. */
export function requireOutputFile(path: string, flag: string): void {
  if (existsSync(path) && statSync(path).isDirectory())
    throw new CliError(`${flag} '${path}' is a directory; give a file name`, 2);
}

/** An output directory flag: it may not name an existing file. */
export function requireOutputDirectory(path: string, flag: string): void {
  if (existsSync(path) && !statSync(path).isDirectory())
    throw new CliError(`${flag} '${path}' is a file; give a directory`, 2);
}
