import type { Command } from 'commander';
import { initBackend, parseBackendName } from '../../ml/backend';
import { runExperiment } from '../../ml/experiment';
import { readInteractionsFile } from '../../ingest/read-interactions-file';
import { buildInteractionLog, evaluableUsers, MIN_EVALUABLE_INTERACTIONS } from '../../ml/interactions';
import { CliError, parseIntegerOption, requireInputFile, runAction } from '../errors';
import { formatMetricsTable, terminalTrainingProgress } from '../metrics-table';

interface EvaluateFlags {
  interactions: string;
  json?: boolean;
  epochs?: number;
  seed?: number;
  backend?: string;
}

export function registerEvaluateCommand(program: Command): void {
  program
    .command('evaluate')
    .description(
      'train the model and baselines on one interactions CSV and report full-ranking and sampled metrics (no stack needed)',
    )
    .requiredOption(
      '--interactions <csv>',
      'canonical interactions CSV/JSONL (user_id,item_id,timestamp[,event_type,event_value])',
    )
    .option('--json', 'print the results as JSON')
    .option(
      '--epochs <n>',
      'maximum training epochs (early stopping may end sooner)',
      parseIntegerOption('--epochs', 1, 1000),
    )
    .option(
      '--seed <n>',
      'random seed for initialisation, shuffling and sampled negatives',
      parseIntegerOption('--seed'),
    )
    .option('--backend <name>', 'TF.js backend: auto, tensorflow, wasm or cpu', 'auto')
    .action(
      runAction(async (flags: EvaluateFlags) => {
        requireInputFile(flags.interactions, '--interactions');
        let force;
        try {
          force = parseBackendName(flags.backend);
        } catch (error) {
          throw new CliError(`--backend: ${error instanceof Error ? error.message : String(error)}`, 2);
        }
        const backend = await initBackend(force ? { force } : {});
        const { rows, rejected } = await readInteractionsFile(flags.interactions);
        if (rows.length === 0)
          throw new CliError(
            `no valid interactions in '${flags.interactions}' (${rejected} rows rejected)`,
            2,
          );
        const log = buildInteractionLog(rows);
        // Refuse before training: a table of zeros would read as a (very bad) result.
        if (evaluableUsers(log) === 0) {
          const longest = Math.max(...log.sequences.map((sequence) => sequence.length));
          throw new CliError(
            `nothing to evaluate in '${flags.interactions}': no user has the ${MIN_EVALUABLE_INTERACTIONS} distinct items the leave-last-out protocol needs (${log.userIds.length} users, at most ${longest} items each)`,
            2,
          );
        }
        const started = performance.now();
        const result = await runExperiment(log, {
          config: {
            ...(flags.epochs ? { epochs: flags.epochs } : {}),
            ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
          },
          ...(flags.seed !== undefined ? { sampledSeed: flags.seed } : {}),
          progress: terminalTrainingProgress(),
        });
        const output = {
          ...result.metrics,
          training: {
            backend: backend.backend,
            users: log.userIds.length,
            items: log.itemIds.length,
            interactions: rows.length,
            rejected_rows: rejected,
            examples: result.trained.examples,
            epochs: result.trained.history.length,
            best_epoch: result.trained.bestEpoch,
            seconds: Number(result.trainingSeconds.toFixed(1)),
            examples_per_second: Math.round(result.trained.examplesPerSecond),
            total_seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
          },
        };
        result.trained.model.dispose();
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
          return;
        }
        const lines = [formatMetricsTable(result.metrics)];
        lines.push(
          '',
          `${output.training.users} users, ${output.training.items} items, ${output.training.interactions} interactions; ` +
            `${output.training.epochs} epochs (best ${output.training.best_epoch}) in ${output.training.seconds} s on ${backend.backend}, ` +
            `${output.training.examples_per_second} examples/s`,
        );
        process.stdout.write(`${lines.join('\n')}\n`);
      }),
    );
}
