import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';

/**
 * Structured JSON logging through Powertools for AWS Lambda: one JSON object per
 * line with level, message, service, timestamp, the bound context (`requestId`,
 * `objectKey`, `modelVersion`), the Lambda context once `injectLambdaContext`
 * ran, and errors with name, message, stack and cause. Domain code sees only
 * this small interface, so it does not depend on the library.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** A logger that adds these fields to every line. */
  child(fields: Record<string, unknown>): Logger;
  /** The Powertools logger behind this one (for its middy middleware). */
  readonly powertools: PowertoolsLogger;
}

export interface LoggerOptions {
  readonly service: string;
  /** Default: `POWERTOOLS_LOG_LEVEL` (or Lambda's log-level control), else info. */
  readonly level?: LogLevel;
  readonly fields?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions): Logger {
  return wrap(
    new PowertoolsLogger({
      serviceName: options.service,
      ...(options.level ? { logLevel: options.level.toUpperCase() as Uppercase<LogLevel> } : {}),
      ...(options.fields ? { persistentKeys: options.fields } : {}),
    }),
  );
}

function wrap(base: PowertoolsLogger): Logger {
  return {
    debug: (message, fields = {}) => base.debug(message, fields),
    info: (message, fields = {}) => base.info(message, fields),
    warn: (message, fields = {}) => base.warn(message, fields),
    error: (message, fields = {}) => base.error(message, fields),
    child: (fields) => wrap(base.createChild({ persistentKeys: fields })),
    powertools: base,
  };
}
