import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parseCsvTable, TableError } from '../../marketing/tabular';
import { evaluateUplift, type UpliftEvalResult } from '../../marketing/uplift-eval';
import { alignedTable } from '../metrics-table';
import {
  CliError,
  collectList,
  parseIntegerOption,
  requireInputFile,
  requireOutputFile,
  runAction,
} from '../errors';

interface UpliftEvalFlags {
  csv: string;
  treatment: string;
  control: string;
  treated?: string;
  outcome: string;
  drop: string[];
  seed: number;
  json?: boolean;
  saveModel?: string;
}

const ESTIMATOR_NAMES = {
  t_learner: 'T-learner (two models)',
  transformed_outcome: 'transformed outcome',
  x_learner: 'X-learner',
} as const;

const signed = (value: number, digits: number) => `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`;

/** The evaluation as tables: the estimators next to the baselines, the effect, the chosen model's deciles. */
export function formatUpliftEval(result: UpliftEvalResult): string {
  const binary = result.outcome.kind === 'binary';
  const effect = (value: number) => (binary ? `${signed(value * 100, 2)} pts` : signed(value, 3));
  const rate = (value: number) =>
    Number.isNaN(value) ? '–' : binary ? `${(value * 100).toFixed(2)}%` : value.toFixed(3);
  const estimatorRows = Object.values(result.estimators).map((estimator) => [
    `${ESTIMATOR_NAMES[estimator.estimator]}${estimator.estimator === result.chosen.estimator ? ' ← chosen' : ''}`,
    (estimator.validationQini[String(estimator.l2)] as number).toFixed(3),
    estimator.qini.toFixed(3),
    estimator.auuc.toFixed(3),
    effect(estimator.ate),
  ]);
  const { ate } = result;
  return [
    `${result.analysedRows} rows (${result.treatment.treatedRows} treated, ${result.treatment.controlRows} control` +
      (result.otherArms > 0 ? `; ${result.otherArms} rows of other arms left out` : '') +
      `), ${result.outcome.kind} outcome '${result.outcome.column}', ${result.features} feature columns (${result.encodedWidth} encoded)` +
      (result.dropped.length > 0 ? `, dropped: ${result.dropped.join(', ')}` : ''),
    `campaign effect, treated − control over all ${result.analysedRows} rows: ${effect(ate.difference)} ` +
      `(95% CI ${effect(ate.ci95[0])} to ${effect(ate.ci95[1])}, p = ${ate.pValue.toPrecision(2)}, ${ate.test === 'two_proportion_z' ? 'two-proportion z-test' : "Welch's t-test"}); ` +
      `on the ${result.split.test} held-out rows ${effect(result.heldOutAte.difference)}`,
    '',
    ...alignedTable(
      ['targeting by', 'validation Qini', 'Qini', 'AUUC', 'predicted ATE'],
      [
        ...estimatorRows,
        [
          'propensity (outcome model, treatment ignored)',
          '–',
          result.baselines.propensity.qini.toFixed(3),
          result.baselines.propensity.auuc.toFixed(3),
          '–',
        ],
        ['random', '–', '0.000', '0.000', '–'],
      ],
    ),
    '',
    `uplift by decile of the chosen model (${ESTIMATOR_NAMES[result.chosen.estimator]}), held-out rows:`,
    ...alignedTable(
      ['decile', 'treated', 'control', 'treated rate', 'control rate', 'observed uplift', 'predicted'],
      result.chosen.deciles.map((decile) => [
        String(decile.decile),
        String(decile.treated),
        String(decile.control),
        rate(decile.treatedRate),
        rate(decile.controlRate),
        Number.isNaN(decile.observedUplift) ? '–' : effect(decile.observedUplift),
        effect(decile.predictedUplift),
      ]),
    ),
    '',
    'Qini and AUUC are normalised: 0 = random targeting, 1 = the perfect ranking; negative = worse than random.',
  ].join('\n');
}

export function registerUpliftEvalCommand(program: Command): void {
  program
    .command('uplift-eval')
    .description(
      "estimate each customer's uplift from a past randomized campaign (T-learner, transformed outcome, X-learner), measured on held-out rows against random and propensity targeting",
    )
    .requiredOption('--csv <file>', 'the campaign: a CSV with a header row (`,` `;` or tab)')
    .requiredOption('--treatment <column>', 'the column saying which arm each customer was in')
    .requiredOption('--control <value>', "the treatment column's value of the control group")
    .option(
      '--treated <value>',
      'compare this arm with control only (rows of other arms are left out); default: every non-control row is treated',
    )
    .requiredOption(
      '--outcome <column>',
      'the outcome: binary (visit, conversion: yes/no, 1/0) or numeric (spend)',
    )
    .option(
      '--drop <columns>',
      'columns to leave out, comma-separated or repeated (ids, leaks)',
      collectList,
      [],
    )
    .option('--seed <n>', 'seed of the held-out split', parseIntegerOption('--seed'), 7)
    .option('--json', 'print the results as JSON')
    .option('--save-model <file>', 'write the chosen model for `mappa uplift-score` (JSON)')
    .action(
      runAction(async (flags: UpliftEvalFlags) => {
        requireInputFile(flags.csv, '--csv');
        if (flags.saveModel) requireOutputFile(flags.saveModel, '--save-model');
        let evaluation: ReturnType<typeof evaluateUplift>;
        try {
          evaluation = evaluateUplift(parseCsvTable(readFileSync(flags.csv, 'utf8')), {
            treatment: {
              column: flags.treatment,
              control: flags.control,
              ...(flags.treated !== undefined ? { treated: flags.treated } : {}),
            },
            outcome: flags.outcome,
            drop: flags.drop,
            seed: flags.seed,
            onStep: (message) => process.stderr.write(`${message}\n`),
          });
        } catch (error) {
          if (error instanceof TableError) throw new CliError(error.message, 2);
          throw error;
        }
        if (flags.saveModel) {
          writeFileSync(flags.saveModel, `${JSON.stringify(evaluation.model)}\n`);
          process.stderr.write(`model (${evaluation.result.chosen.estimator}) saved to ${flags.saveModel}\n`);
        }
        process.stdout.write(
          flags.json
            ? `${JSON.stringify(evaluation.result, null, 2)}\n`
            : `${formatUpliftEval(evaluation.result)}\n`,
        );
      }),
    );
}
