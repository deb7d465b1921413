import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { type CtrEvalResult, evaluateCtrCsv } from '../../marketing/ctr';
import { TableError } from '../../marketing/tabular';
import { initBackend } from '../../ml/backend';
import { alignedTable } from '../metrics-table';
import { CliError, collectList, parseIntegerOption, requireInputFile, runAction } from '../errors';

interface CtrEvalFlags {
  csv: string;
  label: string;
  userColumn: string;
  itemColumn: string;
  timestampColumn: string;
  drop: string[];
  seed: number;
  json?: boolean;
}

/** The evaluation as a table: the CTR model next to logistic regression, warnings first. */
export function formatCtrEval(result: CtrEvalResult): string {
  const header = ['model', 'ROC AUC', '95% CI', 'log loss', 'ECE', 'Brier', 'mean predicted'];
  const rows = (
    [
      ['two-tower + side features, calibrated head', result.models.ctr],
      ['logistic regression (side features + click rates)', result.models.logisticRegression],
    ] as const
  ).map(([model, metrics]) => [
    model,
    metrics.rocAuc.toFixed(4),
    `${metrics.rocAucCi95[0].toFixed(3)}–${metrics.rocAucCi95[1].toFixed(3)}`,
    metrics.logLoss.toFixed(4),
    metrics.calibrationError.toFixed(4),
    metrics.brier.toFixed(4),
    metrics.meanPredicted.toFixed(4),
  ]);
  return [
    ...result.warnings.map((warning) => `warning: ${warning}`),
    `${result.rows} impressions, label '${result.label}' click rate ${(result.clickRate * 100).toFixed(2)}%, ` +
      `${result.split} split: ${result.parts.embedding} rows fit the two-tower model and click rates, ` +
      `${result.parts.head} the head, ${result.test.rows} test (${result.test.clicks} clicks)`,
    `two-tower: ${result.twoTower.users} users, ${result.twoTower.items} items, best epoch ${result.twoTower.bestEpoch} of ${result.twoTower.epochs} in ${result.twoTower.seconds} s; ` +
      `side features: ${result.sideFeatures.join(', ') || 'none'}`,
    '',
    ...alignedTable(header, rows),
    '',
    'Test rows only. ECE = expected calibration error (10 bins); compare mean predicted with the test click rate ' +
      `${(result.test.clicks / Math.max(result.test.rows, 1)).toFixed(4)}.`,
  ].join('\n');
}

export function registerCtrEvalCommand(program: Command): void {
  program
    .command('ctr-eval')
    .description(
      'learn a calibrated click probability per (user, item) from an impression log and evaluate it next to logistic regression',
    )
    .requiredOption(
      '--csv <file>',
      'impression log: one row per impression with user, item and a 0/1 click label',
    )
    .requiredOption('--label <column>', 'the click label column (1/0, yes/no, true/false)')
    .option('--user-column <column>', 'user id column', 'user_id')
    .option('--item-column <column>', 'item id column', 'item_id')
    .option('--timestamp-column <column>', 'orders rows for a temporal split when present', 'timestamp')
    .option(
      '--drop <columns>',
      'columns to leave out of the side features, comma-separated or repeated',
      collectList,
      [],
    )
    .option(
      '--seed <n>',
      'seed of the models (and of the split without a timestamp)',
      parseIntegerOption('--seed'),
      7,
    )
    .option('--json', 'print the results as JSON')
    .action(
      runAction(async (flags: CtrEvalFlags) => {
        requireInputFile(flags.csv, '--csv');
        await initBackend();
        let result: CtrEvalResult;
        try {
          result = await evaluateCtrCsv(readFileSync(flags.csv, 'utf8'), {
            label: flags.label,
            userColumn: flags.userColumn,
            itemColumn: flags.itemColumn,
            timestampColumn: flags.timestampColumn,
            drop: flags.drop,
            seed: flags.seed,
            onProgress: (line) => process.stderr.write(`${line}\n`),
          });
        } catch (error) {
          if (error instanceof TableError) throw new CliError(error.message, 2);
          throw error;
        }
        for (const warning of result.warnings) process.stderr.write(`warning: ${warning}\n`);
        process.stdout.write(
          flags.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatCtrEval(result)}\n`,
        );
      }),
    );
}
