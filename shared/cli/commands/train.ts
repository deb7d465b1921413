import type { Command } from 'commander';
import { initBackend } from '../../ml/backend';
import { createLogger } from '../../observability/logger';
import { runTraining, type TrainingRunReport } from '../../training/run-training';
import { parseIntegerOption, runAction } from '../errors';
import { formatMetricsTable, terminalTrainingProgress } from '../metrics-table';
import { openLocalServices } from '../local-services';
import { type StackFlags, withStackFlags } from './local';

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
      });
      const options = flags.epochs ? { config: { epochs: flags.epochs } } : {};
      const services = await openLocalServices(flags);
      let report: TrainingRunReport;
      try {
        report = await runTraining(
          {
            ...services.clientsFor('train'),
            bucket: services.names.dataBucket,
            userVectorsTable: services.names.tables.userVectors,
            ledgerTable: services.names.tables.ledger,
            experimentsTable: services.names.tables.experiments,
            log,
            progress: terminalTrainingProgress(),
          },
          options,
          backend.backend,
        );
      } finally {
        await services.stop();
      }
      process.stdout.write(
        flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatTrainingReport(report)}\n`,
      );
    }),
  );
}
