/**
 * Structured JSON logging in one place. Every line is one JSON object with a
 * level, a message and the context fields bound to the logger (for example
 * `requestId`, `objectKey`, `modelVersion`), so CloudWatch Logs Insights can
 * filter on them.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** A logger that adds these fields to every line. */
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  readonly service: string;
  readonly level?: LogLevel;
  /** Where lines go; defaults to stdout. */
  readonly write?: (line: string) => void;
  readonly fields?: Record<string, unknown>;
}

function serialiseError(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

export function createLogger(options: LoggerOptions): Logger {
  const threshold = LEVEL_ORDER[options.level ?? parseLevel(process.env.MAPPA_LOG_LEVEL)];
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const bound = { service: options.service, ...options.fields };
  const log = (level: LogLevel, message: string, fields: Record<string, unknown> = {}) => {
    if (LEVEL_ORDER[level] < threshold) return;
    const entry: Record<string, unknown> = { level, message, timestamp: new Date().toISOString(), ...bound };
    for (const [key, value] of Object.entries(fields)) entry[key] = serialiseError(value);
    write(JSON.stringify(entry));
  };
  return {
    debug: (message, fields) => log('debug', message, fields),
    info: (message, fields) => log('info', message, fields),
    warn: (message, fields) => log('warn', message, fields),
    error: (message, fields) => log('error', message, fields),
    child: (fields) => createLogger({ ...options, fields: { ...options.fields, ...fields } }),
  };
}

function parseLevel(raw: string | undefined): LogLevel {
  return raw === 'debug' || raw === 'warn' || raw === 'error' ? raw : 'info';
}
