import type { Command } from 'commander';
import { createDynamoDbClient, createS3Client } from '../../aws/clients';
import { initBackend } from '../../ml/backend';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/embedded-stack';
import { processAlive, readLocalState } from '../../local/state-file';
import { createLogger } from '../../observability/logger';
import { runTraining, type TrainingRunReport } from '../../training/run-training';
import { parseIntegerOption, runAction } from '../errors';
import { formatMetricsTable, terminalTrainingProgress } from '../metrics-table';
import { type StackFlags, startStackFromFlags, withStackFlags } from './local';

interface TrainFlags extends StackFlags {
  epochs?: number;
  json?: boolean;
}

/** Prints a training run: metrics table, gate decision, where the artifacts went. */
export function formatTrainingReport(report: TrainingRunReport): string {
  return [
    formatMetricsTable(report.metrics),
    '',
    `${report.promoted ? 'Promoted' : 'Not promoted'} model ${report.version}:`,
    ...report.reasons.map((reason) => `  - ${reason}`),
    `${report.training.users} users, ${report.training.items} items, ${report.training.interactions} interactions; ` +
      `${report.training.epochs} epochs (best ${report.training.bestEpoch}) in ${report.training.seconds} s on ${report.training.backend}, ` +
      `${report.training.examplesPerSecond} examples/s`,
    `report: ${report.report}`,
  ].join('\n');
}

export function registerTrainCommand(program: Command): void {
  withStackFlags(
    program
      .command('train')
      .description(
        'run the training job against the local stack: curated data → model → artifacts → quality gate → manifest',
      )
      .option('--epochs <n>', 'maximum training epochs', parseIntegerOption('--epochs', 1, 1000))
      .option('--json', 'print the run report as JSON'),
  ).action(
    runAction(async (flags: TrainFlags) => {
      const backend = await initBackend();
      const log = createLogger({
        service: 'mappa-train',
        level: 'warn',
        write: (line) => process.stderr.write(`${line}\n`),
      });
      const running = readLocalState(flags.dataDir);
      const options = flags.epochs ? { config: { epochs: flags.epochs } } : {};
      let report: TrainingRunReport;
      if (running && processAlive(running.pid)) {
        const connection = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
        report = await runTraining(
          {
            s3: createS3Client({ ...connection, endpoint: running.s3Endpoint }, {}),
            dynamoDb: createDynamoDbClient({ ...connection, endpoint: running.dynamoDbEndpoint }),
            bucket: running.dataBucket,
            userVectorsTable: running.tables.userVectors ?? '',
            log,
            progress: terminalTrainingProgress(),
          },
          options,
          backend.backend,
        );
      } else {
        const stack = await startStackFromFlags(flags);
        try {
          report = await runTraining(
            {
              s3: stack.s3,
              dynamoDb: stack.dynamoDb,
              bucket: stack.names.dataBucket,
              userVectorsTable: stack.names.tables.userVectors,
              log,
              progress: terminalTrainingProgress(),
            },
            options,
            backend.backend,
          );
        } finally {
          await stack.stop();
        }
      }
      process.stdout.write(
        flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatTrainingReport(report)}\n`,
      );
    }),
  );
}
