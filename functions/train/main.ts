import * as z from '../../shared/data/schema';
import { dynamoDbClient, s3Client } from '../../shared/aws/clients';
import { readEnv, requiredString } from '../../shared/config/env';
import { ENV } from '../../shared/config/env-names';
import { initBackend, parseBackendName } from '../../shared/ml/backend';
import { createLogger } from '../../shared/observability/logger';
import { parseExcludedEventTypes } from '../../shared/serving/seen-policy';
import { trainingOverridesSchema } from '../../shared/training/overrides';
import { TrainingRunInProgress } from '../../shared/training/run-lock';
import { runTraining } from '../../shared/training/run-training';

/**
 * Entry point of the Fargate training task (scheduled by EventBridge, or run on
 * demand). Picks the native `tensorflow` backend the image installs, falling
 * back to wasm/cpu; logs one JSON line per epoch; exits non-zero on failure so
 * the failed run is visible (and the manifest, written last, stays as it was).
 */
async function main(): Promise<void> {
  const log = createLogger({ service: 'mappa-train' });
  const env = readEnv({
    [ENV.dataBucket]: requiredString,
    [ENV.userVectorsTable]: requiredString,
    [ENV.ledgerTable]: requiredString,
    [ENV.experimentsTable]: requiredString,
    [ENV.trainingMaxMinutes]: z._default(
      z.coerce
        .number()
        .check(z.refine(Number.isInteger, 'must be whole minutes'), z.minimum(5), z.maximum(24 * 60)),
      240,
    ),
    [ENV.excludeSeenEventTypes]: z.optional(z.string()),
    [ENV.tfBackend]: z.optional(z.string()),
    [ENV.trainingConfig]: z.pipe(
      z._default(z.string(), '{}'),
      z.transform((raw) => trainingOverridesSchema.parse(JSON.parse(raw))),
    ),
  });
  const { segments, ...config } = env[ENV.trainingConfig];
  const maxRunSeconds = env[ENV.trainingMaxMinutes] * 60;
  // The run checks its deadline between steps and epochs; a step that hangs (a stuck
  // request, a runaway kernel) is stopped here, a few minutes later, all the same.
  const watchdog = setTimeout(
    () => {
      log.error('training run failed', {
        error: `no step boundary within ${maxRunSeconds + 300} s; stopping`,
      });
      process.exit(1);
    },
    (maxRunSeconds + 300) * 1000,
  );
  watchdog.unref();
  const forced = parseBackendName(env[ENV.tfBackend]);
  const backend = await initBackend(forced ? { force: forced } : {});
  log.info('tf backend selected', { backend: backend.backend, skipped: backend.skipped });
  const report = await runTraining(
    {
      s3: s3Client(),
      dynamoDb: dynamoDbClient(),
      bucket: env[ENV.dataBucket],
      userVectorsTable: env[ENV.userVectorsTable],
      ledgerTable: env[ENV.ledgerTable],
      experimentsTable: env[ENV.experimentsTable],
      log,
    },
    {
      config,
      maxRunSeconds,
      excludeSeenEventTypes: parseExcludedEventTypes(env[ENV.excludeSeenEventTypes]),
      ...(segments !== undefined ? { segments } : {}),
    },
    backend.backend,
  );
  log.info('training run finished', {
    version: report.version,
    promoted: report.promoted,
    reasons: report.reasons,
  });
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    // An overlapping run is not a failure: the running one will publish its result.
    if (error instanceof TrainingRunInProgress) {
      process.stderr.write(
        `${JSON.stringify({ level: 'warn', message: 'training run skipped', reason: error.message })}\n`,
      );
      process.exit(0);
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(
      `${JSON.stringify({ level: 'error', message: 'training run failed', error: message })}\n`,
    );
    process.exit(1);
  },
);
