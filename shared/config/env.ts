import * as z from '../data/schema';

/** Raised when a required environment variable is missing or malformed; names the variable. */
export class ConfigurationError extends Error {
  constructor(
    readonly variable: string,
    detail: string,
  ) {
    super(`Environment variable ${variable} ${detail}`);
    this.name = 'ConfigurationError';
  }
}

/**
 * Parses the given environment variables with a schema per variable, failing fast
 * with the name of the first offending variable. Call once at module scope.
 */
export function readEnv<Shape extends Record<string, z.ZodMiniType>>(
  shape: Shape,
  source: NodeJS.ProcessEnv = process.env,
): { [K in keyof Shape]: z.output<Shape[K]> } {
  const result: Record<string, unknown> = {};
  for (const [variable, schema] of Object.entries(shape)) {
    const parsed = schema.safeParse(source[variable]);
    if (!parsed.success) {
      const raw = source[variable];
      const issue = parsed.error.issues[0]?.message ?? 'is invalid';
      throw new ConfigurationError(variable, raw === undefined ? 'is not set' : `is invalid: ${issue}`);
    }
    result[variable] = parsed.data;
  }
  return result as { [K in keyof Shape]: z.output<Shape[K]> };
}

/** A required, non-empty string variable. */
export const requiredString = z.string().check(z.trim(), z.minLength(1));
