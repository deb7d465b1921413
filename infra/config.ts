import { z } from 'zod';
import { DEFAULT_NAME_PREFIX, EVENTS_DELIVERY } from '../shared/resources/definitions';
import { trainingOverridesSchema } from '../shared/training/overrides';

/**
 * Typed stage configuration, read from CDK context (`cdk.json` defaults,
 * overridable with `-c key=value`). Every knob an operator may turn lives here.
 */
export const stageConfigSchema = z.object({
  /** Prefix of every physical name (tables, functions). */
  namePrefix: z
    .string()
    .regex(/^[a-z][a-z0-9-]{1,30}$/, 'lower-case letters, digits and dashes, 2-31 characters')
    .default(DEFAULT_NAME_PREFIX),
  /** `retain` keeps data stores on stack deletion (production); `destroy` removes them (dev stages). */
  removalPolicy: z.enum(['retain', 'destroy']).default('retain'),
  /** Days quarantined rows under `rejected/` are kept. */
  rejectedRetentionDays: z.coerce.number().int().min(1).max(3650).default(90),
  /** Days a replaced (non-current) object version is kept, e.g. overwritten model artifacts. */
  noncurrentVersionRetentionDays: z.coerce.number().int().min(1).max(3650).default(30),
  /**
   * Reserved concurrency of the preprocess function (0 = none, the default). Opt-in: Lambda keeps
   * min(100, account limit) executions unreserved, so an account at the default limit of 10 can reserve none.
   */
  ingestionConcurrency: z.coerce.number().int().min(0).max(1000).default(0),
  /** The account's Lambda concurrency limit (Service Quotas), checked against reservations at synth. */
  accountConcurrencyLimit: z.coerce.number().int().min(10).default(10),
  /** EventBridge schedule of the training job. */
  trainingSchedule: z
    .string()
    .regex(/^(cron|rate)\(.+\)$/, 'an EventBridge schedule expression')
    .default('cron(0 3 * * ? *)'),
  /** Fargate vCPU units of the training task (1024 = 1 vCPU). */
  trainingCpu: z.coerce.number().int().default(2048),
  /** Minutes a training run may take; then it stops and fails, and serving keeps its model. */
  trainingMaxMinutes: z.coerce.number().int().min(5).max(1440).default(240),
  /** Fargate memory of the training task in MiB. */
  trainingMemoryMiB: z.coerce.number().int().min(512).default(8192),
  /** API usage-plan throttling per key: steady requests per second. */
  apiThrottleRate: z.coerce.number().min(1).max(10_000).default(100),
  /** API usage-plan throttling per key: burst. */
  apiThrottleBurst: z.coerce.number().int().min(1).max(5_000).default(200),
  /** Comma-separated origins allowed by CORS (browser callers); empty = none. */
  apiCorsOrigins: z
    .string()
    .default('')
    .transform((raw) =>
      raw
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
    ),
  /** Seconds between the API functions' checks for a newly promoted model. */
  modelRecheckSeconds: z.coerce.number().int().min(1).max(3600).default(60),
  /** Event types whose items recommendations leave out as already seen (`*` = all; e.g. `purchase`). */
  excludeSeenEventTypes: z.string().min(1).default('*'),
  /** Memory of the scoring API functions in MiB (1769 = one full vCPU). */
  scoringMemoryMiB: z.coerce.number().int().min(256).max(10_240).default(1769),
  /** Share (0-1) of a recommendation list offered to items added since training (Personalize: explorationWeight). */
  explorationWeight: z.coerce.number().min(0).max(1).default(0.3),
  /** Items listed at most this many days ago count as new (Personalize: explorationItemAgeCutoffDays). */
  explorationItemAgeCutoffDays: z.coerce.number().int().min(1).max(30).default(30),
  /** Seconds Firehose buffers posted events before writing a drop-folder file (0-900; Firehose's range). */
  eventsBufferSeconds: z.coerce
    .number()
    .int()
    .min(0)
    .max(900)
    .default(EVENTS_DELIVERY.bufferingIntervalSeconds),
  /** MiB Firehose buffers before writing a file, whichever comes first (1-128; Firehose's range). */
  eventsBufferMiB: z.coerce.number().int().min(1).max(128).default(EVENTS_DELIVERY.bufferingSizeMiB),
  /** API authentication: `apiKey` (API keys + usage plan; `mappa serve` enforces the same) or `iam` (SigV4). */
  apiAuth: z.enum(['apiKey', 'iam']).default('apiKey'),
  /** Email address the alarm topic notifies (a confirmation mail arrives first); empty = none. */
  alarmEmail: z.union([z.literal(''), z.email('must be an email address')]).default(''),
  /** Training hyper-parameters as JSON, e.g. {"embeddingDim":64,"epochs":12}; {} = the tested defaults. */
  trainingHyperParameters: z
    .string()
    .default('{}')
    .transform((raw, context) => {
      try {
        return trainingOverridesSchema.parse(JSON.parse(raw));
      } catch (error) {
        context.addIssue({
          code: 'custom',
          message: `is not valid training hyper-parameters: ${error instanceof Error ? error.message : String(error)}`,
        });
        return z.NEVER;
      }
    }),
  /** Days server access logs are kept. */
  accessLogRetentionDays: z.coerce.number().int().min(1).max(3650).default(365),
});

/** Executions Lambda keeps unreserved in an account: 100, or all of them below a limit of 100. */
export function minimumUnreservedConcurrency(accountLimit: number): number {
  return Math.min(100, accountLimit);
}

export type StageConfig = z.output<typeof stageConfigSchema>;
/** A stage's settings as written in CDK context (strings and numbers, before defaults). */
export type StageConfigInput = z.input<typeof stageConfigSchema>;

/** Parses stage config from a context lookup, naming the offending key on error. */
export function loadStageConfig(tryGetContext: (key: string) => unknown): StageConfig {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(stageConfigSchema.shape)) {
    const value = tryGetContext(key);
    if (value !== undefined) raw[key] = value;
  }
  const parsed = stageConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`Invalid CDK context '${issue?.path.join('.')}': ${issue?.message}`);
  }
  const config = parsed.data;
  const reservable =
    config.accountConcurrencyLimit - minimumUnreservedConcurrency(config.accountConcurrencyLimit);
  if (config.ingestionConcurrency > reservable) {
    throw new Error(
      `Invalid CDK context 'ingestionConcurrency': ${config.ingestionConcurrency} reserved executions exceed what an account ` +
        `with a concurrency limit of ${config.accountConcurrencyLimit} can reserve (${reservable}; Lambda keeps ` +
        `${minimumUnreservedConcurrency(config.accountConcurrencyLimit)} unreserved). Raise the limit in Service Quotas and pass ` +
        `-c accountConcurrencyLimit=<your limit>, or use ingestionConcurrency=0.`,
    );
  }
  return config;
}
