import { createWriteStream, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { csvLine } from '../../data/formats';
import { deciles } from '../../marketing/propensity-model';
import { parseCsvTable, TableError } from '../../marketing/tabular';
import { scoreUplift, type UpliftModelArtifact } from '../../marketing/uplift-eval';
import { CliError, requireInputFile, requireOutputFile, runAction } from '../errors';

interface UpliftScoreFlags {
  model: string;
  csv: string;
  id?: string;
  out?: string;
}

function loadModel(path: string): UpliftModelArtifact {
  requireInputFile(path, '--model');
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as UpliftModelArtifact;
  } catch (error) {
    throw new CliError(`--model file '${path}' is not JSON: ${(error as Error).message}`, 2);
  }
}

export function registerUpliftScoreCommand(program: Command): void {
  program
    .command('uplift-score')
    .description(
      'score customers with a saved uplift model (from `uplift-eval --save-model`): whom the campaign moves most',
    )
    .requiredOption('--model <file>', 'the model file')
    .requiredOption('--csv <file>', 'customers to score: a CSV with the columns the model was trained on')
    .option('--id <column>', 'carry this column into the output to identify rows')
    .option('--out <file>', 'write the scores as CSV to this file instead of standard output')
    .action(
      runAction(async (flags: UpliftScoreFlags) => {
        const model = loadModel(flags.model);
        requireInputFile(flags.csv, '--csv');
        if (flags.out) requireOutputFile(flags.out, '--out');
        let uplift: Float64Array;
        let ids: readonly string[] | undefined;
        try {
          const table = parseCsvTable(readFileSync(flags.csv, 'utf8'));
          if (flags.id !== undefined) {
            const index = table.columns.indexOf(flags.id);
            if (index < 0) {
              throw new TableError(
                `--id column '${flags.id}' is not in the file (columns: ${table.columns.join(', ')})`,
              );
            }
            ids = table.values[index];
          }
          uplift = scoreUplift(model, table);
        } catch (error) {
          if (error instanceof TableError) throw new CliError(`${error.message}`, 2);
          throw error;
        }
        const decile = deciles(uplift);
        const output = flags.out ? createWriteStream(flags.out) : process.stdout;
        output.write(`${csvLine(['row', ...(flags.id ? [flags.id] : []), 'uplift', 'decile'])}\n`);
        uplift.forEach((value, row) => {
          output.write(
            `${csvLine([row + 1, ...(ids ? [ids[row] as string] : []), Number(value.toFixed(6)), decile[row] as number])}\n`,
          );
        });
        if (output !== process.stdout) {
          await new Promise<void>((resolve, reject) =>
            output.end((error?: Error | null) => (error ? reject(error) : resolve())),
          );
          process.stderr.write(`${uplift.length} rows scored → ${flags.out}\n`);
        }
      }),
    );
}
