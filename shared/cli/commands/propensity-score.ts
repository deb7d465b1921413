import { createWriteStream, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { csvLine } from '../../data/formats';
import { deciles, type PropensityModelArtifact, PropensityScorer } from '../../marketing/propensity-model';
import { parseCsvTable, TableError } from '../../marketing/tabular';
import { CliError, requireInputFile, requireOutputFile, runAction } from '../errors';

interface PropensityScoreFlags {
  model: string;
  csv: string;
  id?: string;
  out?: string;
  json?: boolean;
}

export interface ScoredRow {
  /** 1-based data row of the input file. */
  readonly row: number;
  readonly id?: string;
  readonly probability: number;
  /** 1 = the 10% most likely rows. */
  readonly decile: number;
  /** Probability at or above the model's decision threshold. */
  readonly predicted: boolean;
}

function loadModel(path: string): PropensityScorer {
  requireInputFile(path, '--model');
  let artifact: PropensityModelArtifact;
  try {
    artifact = JSON.parse(readFileSync(path, 'utf8')) as PropensityModelArtifact;
  } catch (error) {
    throw new CliError(`--model file '${path}' is not JSON: ${(error as Error).message}`, 2);
  }
  try {
    return PropensityScorer.fromArtifact(artifact);
  } catch (error) {
    throw new CliError(`--model file '${path}': ${(error as Error).message}`, 2);
  }
}

/** Scores every row of a CSV with a saved propensity model. */
export function scoreRows(scorer: PropensityScorer, csvText: string, idColumn?: string): ScoredRow[] {
  const table = parseCsvTable(csvText);
  const idIndex = idColumn === undefined ? -1 : table.columns.indexOf(idColumn);
  if (idColumn !== undefined && idIndex < 0) {
    throw new TableError(
      `--id column '${idColumn}' is not in the file (columns: ${table.columns.join(', ')})`,
    );
  }
  const rows = Array.from({ length: table.rows }, (_, row) => row);
  const probability = scorer.probabilities(table, rows);
  const decile = deciles(probability);
  return rows.map((row) => ({
    row: row + 1,
    ...(idIndex >= 0 ? { id: (table.values[idIndex] as string[])[row] as string } : {}),
    probability: Number((probability[row] as number).toFixed(6)),
    decile: decile[row] as number,
    predicted: (probability[row] as number) >= scorer.threshold,
  }));
}

export function registerPropensityScoreCommand(program: Command): void {
  program
    .command('propensity-score')
    .description('score a CSV with a saved propensity model (from `propensity-eval --save-model`)')
    .requiredOption('--model <file>', 'the model file')
    .requiredOption('--csv <file>', 'rows to score: a CSV with the columns the model was trained on')
    .option('--id <column>', 'carry this column into the output to identify rows')
    .option('--out <file>', 'write the scores as CSV to this file instead of standard output')
    .option('--json', 'print the scores as JSON')
    .action(
      runAction(async (flags: PropensityScoreFlags) => {
        const scorer = loadModel(flags.model);
        requireInputFile(flags.csv, '--csv');
        if (flags.out) requireOutputFile(flags.out, '--out');
        let scored: ScoredRow[];
        try {
          scored = scoreRows(scorer, readFileSync(flags.csv, 'utf8'), flags.id);
        } catch (error) {
          if (error instanceof TableError) throw new CliError(error.message, 2);
          throw error;
        }
        if (flags.json) {
          const model = { target: scorer.target, threshold: scorer.threshold, metadata: scorer.metadata };
          process.stdout.write(
            `${JSON.stringify({ model, rows: scored.length, scores: scored }, null, 2)}\n`,
          );
          return;
        }
        const output = flags.out ? createWriteStream(flags.out) : process.stdout;
        output.write(
          `${csvLine(['row', ...(flags.id ? [flags.id] : []), 'probability', 'decile', 'predicted'])}\n`,
        );
        for (const row of scored) {
          output.write(
            `${csvLine([row.row, ...(row.id === undefined ? [] : [row.id]), row.probability, row.decile, row.predicted ? 1 : 0])}\n`,
          );
        }
        if (output !== process.stdout) {
          await new Promise<void>((resolve, reject) =>
            output.end((error?: Error | null) => (error ? reject(error) : resolve())),
          );
          process.stderr.write(`${scored.length} rows scored → ${flags.out}\n`);
        }
      }),
    );
}
