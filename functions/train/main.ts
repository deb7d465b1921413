import { z } from 'zod';
import { dynamoDbClient, s3Client } from '../../shared/aws/clients';
import { readEnv, requiredString } from '../../shared/config/env';
import { ENV } from '../../shared/config/env-names';
import { initBackend, parseBackendName } from '../../shared/ml/backend';
import { createLogger } from '../../shared/observability/logger';
import { trainingOverridesSchema } from '../../shared/training/overrides';
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
    [ENV.tfBackend]: z.string().optional(),
    [ENV.trainingConfig]: z
      .string()
      .default('{}')
      .transform((raw) => trainingOverridesSchema.parse(JSON.parse(raw))),
  });
  const { segments, ...config } = env[ENV.trainingConfig];
  const forced = parseBackendName(env[ENV.tfBackend]);
  const backend = await initBackend(forced ? { force: forced } : {});
  log.info('tf backend selected', { backend: backend.backend, skipped: backend.skipped });
  const report = await runTraining(
    {
      s3: s3Client(),
      dynamoDb: dynamoDbClient(),
      bucket: env[ENV.dataBucket],
      userVectorsTable: env[ENV.userVectorsTable],
      log,
    },
    { config, ...(segments !== undefined ? { segments } : {}) },
    backend.backend,
  );
  log.info('training run finished', {
    version: report.version,
    promoted: report.promoted,
    reasons: report.reasons,
  });
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(
    `${JSON.stringify({ level: 'error', message: 'training run failed', error: message })}\n`,
  );
  process.exit(1);
});
