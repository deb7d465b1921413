import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CONTACT_VOLUME_COLUMN } from '../../marketing/contact-context';
import { evaluatePropensityCsv, type PropensityEvalResult } from '../../marketing/propensity-eval';
import { TableError } from '../../marketing/tabular';
import { initBackend } from '../../ml/backend';
import { alignedTable } from '../metrics-table';
import {
  CliError,
  collectList,
  parseIntegerOption,
  requireInputFile,
  requireOutputFile,
  runAction,
} from '../errors';

interface PropensityEvalFlags {
  csv: string;
  target: string;
  drop: string[];
  seed: number;
  json?: boolean;
  saveModel?: string;
  context: boolean;
}

/** The evaluation as a table: both splits, MLP next to logistic regression. */
export function formatPropensityEval(result: PropensityEvalResult): string {
  const header = ['split', 'model', 'ROC AUC', 'PR AUC', 'F1', 'precision', 'recall', 'ECE', 'lift@10%'];
  const rows = Object.entries(result.splits).flatMap(([split, outcome]) =>
    (
      [
        ['MLP (calibrated ensemble)', outcome.mlp],
        ['logistic regression (L2)', outcome.logisticRegression],
      ] as const
    ).map(([model, metrics]) => [
      split,
      model,
      metrics.rocAuc.toFixed(4),
      metrics.prAuc.toFixed(4),
      metrics.f1.toFixed(3),
      metrics.precision.toFixed(3),
      metrics.recall.toFixed(3),
      metrics.calibrationError.toFixed(4),
      metrics.liftTop10.toFixed(2),
    ]),
  );
  const splitLines = Object.entries(result.splits).map(
    ([split, outcome]) =>
      `${split}: ${outcome.trainRows} train / ${outcome.validationRows} validation / ${outcome.testRows} test rows, ` +
      `${outcome.epochs} epochs in ${outcome.seconds} s` +
      (outcome.context
        ? `, campaign context ${outcome.context.used ? 'used' : 'not used'} (validation AUC ${outcome.context.validationAuc.with} with, ${outcome.context.validationAuc.without} without)`
        : '') +
      (outcome.recencyHalfLife
        ? `, recency half-life ${outcome.recencyHalfLife.value} (chosen on validation AUC)`
        : '') +
      `; keeps the ${outcome.chosen.model === 'mlp' ? 'MLP' : 'logistic regression'} (validation AUC MLP ` +
      `${outcome.chosen.validationAuc.mlp}, logistic regression ${outcome.chosen.validationAuc.logisticRegression})`,
  );
  return [
    `${result.rows} rows, target '${result.target}' positive rate ${(result.positiveRate * 100).toFixed(1)}%, ` +
      `${result.features} feature columns (${result.encodedWidth} encoded)` +
      (result.dropped.length > 0 ? `, dropped: ${result.dropped.join(', ')}` : ''),
    result.context
      ? `campaign context offered: ${result.context.column} from ${result.context.dateColumns.join(' + ')}` +
        (result.context.yearInferredFromRowOrder ? ' (year inferred from row order)' : '') +
        '; kept where it wins on the validation rows'
      : 'campaign context: not offered (no contact date columns, or --no-context)',
    ...splitLines,
    '',
    ...alignedTable(header, rows),
    '',
    'F1, precision and recall at the threshold chosen on validation; ECE = expected calibration error (10 bins).',
  ].join('\n');
}

export function registerPropensityEvalCommand(program: Command): void {
  program
    .command('propensity-eval')
    .description(
      'train and evaluate the propensity model on any CSV with a binary target: random 80/20 and temporal splits, next to logistic regression',
    )
    .requiredOption('--csv <file>', 'CSV with a header row (`,` `;` or tab)')
    .requiredOption('--target <column>', 'the binary target column (yes/no, 1/0, true/false)')
    .option(
      '--drop <columns>',
      'columns to leave out, comma-separated or repeated (e.g. leaks)',
      collectList,
      [],
    )
    .option('--seed <n>', 'seed of the random split and the models', parseIntegerOption('--seed'), 7)
    .option('--json', 'print the results as JSON')
    .option(
      '--no-context',
      `do not add the campaign-context feature (${CONTACT_VOLUME_COLUMN}: rows on the same contact date) when the file has date columns`,
    )
    .option(
      '--save-model <file>',
      "write the random split's chosen model (MLP, or the logistic regression when it wins on validation) as a model file for `mappa propensity-score` (JSON, no TF.js needed to score)",
    )
    .action(
      runAction(async (flags: PropensityEvalFlags) => {
        requireInputFile(flags.csv, '--csv');
        if (flags.saveModel) requireOutputFile(flags.saveModel, '--save-model');
        await initBackend();
        let result: PropensityEvalResult;
        try {
          let lastLine = 0;
          result = await evaluatePropensityCsv(readFileSync(flags.csv, 'utf8'), {
            target: flags.target,
            drop: flags.drop,
            seed: flags.seed,
            context: flags.context,
            config: { seed: flags.seed },
            onModel: (split, model) => {
              if (!flags.saveModel || split !== 'random') return;
              writeFileSync(flags.saveModel, `${JSON.stringify(model)}\n`);
              process.stderr.write(`model (random split) saved to ${flags.saveModel}\n`);
            },
            onCandidate: (split, candidate) => {
              const settings = [
                candidate.withContext ? 'with campaign context' : 'customer columns',
                ...(candidate.halfLife === null ? [] : [`recency half-life ${candidate.halfLife}`]),
              ].join(', ');
              process.stderr.write(
                `${split} split: choosing on validation ${candidate.index}/${candidate.total} (${settings}): validation AUC ${candidate.validationAuc.toFixed(4)}\n`,
              );
            },
            onEpoch: (split, model, stats) => {
              if (model !== 'mlp' || Date.now() - lastLine < 2_000) return;
              lastLine = Date.now();
              process.stderr.write(
                `${split} split: model ${stats.member + 1}, epoch ${stats.epoch}, validation AUC ${stats.validationAuc.toFixed(4)}\n`,
              );
            },
          });
        } catch (error) {
          if (error instanceof TableError) throw new CliError(error.message, 2);
          if (error instanceof Error && error.message.startsWith('--drop'))
            throw new CliError(error.message, 2);
          throw error;
        }
        process.stdout.write(
          flags.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatPropensityEval(result)}\n`,
        );
      }),
    );
}
