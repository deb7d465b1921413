import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { initBackend, parseBackendName } from '../../ml/backend';
import { runExperiment } from '../../ml/experiment';
import { buildInteractionLog, readInteractionsFile } from '../../ml/interactions';
import type { RankingMetrics } from '../../ml/metrics';
import { CliError, parseIntegerOption, runAction } from '../errors';
import { createProgress } from '../progress';

interface EvaluateFlags {
  interactions: string;
  json?: boolean;
  epochs?: number;
  seed?: number;
  backend?: string;
}

const METRIC_COLUMNS: [keyof RankingMetrics, string][] = [
  ['hr10', 'HR@10'],
  ['ndcg10', 'NDCG@10'],
  ['precision10', 'P@10'],
  ['recall10', 'R@10'],
  ['map10', 'MAP@10'],
  ['mrr', 'MRR'],
  ['coverage10', 'Cov@10'],
];

export function registerEvaluateCommand(program: Command): void {
  program
    .command('evaluate')
    .description('train the model and baselines on one interactions CSV and report full-ranking and sampled metrics (no stack needed)')
    .requiredOption('--interactions <csv>', 'canonical interactions CSV/JSONL (user_id,item_id,timestamp[,event_type,event_value])')
    .option('--json', 'print the results as JSON')
    .option('--epochs <n>', 'maximum training epochs (early stopping may end sooner)', parseIntegerOption('--epochs', 1, 1000))
    .option('--seed <n>', 'random seed for initialisation, shuffling and sampled negatives', parseIntegerOption('--seed'))
    .option('--backend <name>', 'TF.js backend: auto, tensorflow, wasm or cpu', 'auto')
    .action(
      runAction(async (flags: EvaluateFlags) => {
        if (!existsSync(flags.interactions)) throw new CliError(`--interactions file '${flags.interactions}' does not exist`, 2);
        let force;
        try {
          force = parseBackendName(flags.backend);
        } catch (error) {
          throw new CliError(`--backend: ${error instanceof Error ? error.message : String(error)}`, 2);
        }
        const backend = await initBackend(force ? { force } : {});
        const { rows, rejected } = await readInteractionsFile(flags.interactions);
        if (rows.length === 0) throw new CliError(`no valid interactions in '${flags.interactions}' (${rejected} rows rejected)`, 2);
        const log = buildInteractionLog(rows);
        const started = performance.now();
        let bar: ReturnType<typeof createProgress> | undefined;
        const result = await runExperiment(log, {
          config: { ...(flags.epochs ? { epochs: flags.epochs } : {}), ...(flags.seed !== undefined ? { seed: flags.seed } : {}) },
          ...(flags.seed !== undefined ? { sampledSeed: flags.seed } : {}),
          progress: {
            onBatch: (epoch, batch, batches, loss) => {
              if (batch === 1) bar = createProgress(`epoch ${epoch}`, batches);
              bar?.update(batch, `loss ${loss.toFixed(4)}`);
              if (batch === batches) bar?.stop();
            },
            onEpoch: (stats) =>
              process.stderr.write(
                `epoch ${stats.epoch}: loss ${stats.loss.toFixed(4)}, validation NDCG@10 ${stats.validation.ndcg10.toFixed(4)}, ${Math.round(stats.examplesPerSecond)} examples/s\n`,
              ),
          },
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
        const header = ['', ...METRIC_COLUMNS.map(([, label]) => label), 'HR@10 (sampled-100)'];
        const lines = [header.map((cell, index) => (index === 0 ? cell.padEnd(12) : cell.padStart(9))).join(' ')];
        for (const [name, metrics] of Object.entries(result.metrics)) {
          lines.push(
            [
              name.padEnd(12),
              ...METRIC_COLUMNS.map(([key]) => metrics.full[key].toFixed(4).padStart(9)),
              (metrics.sampled100?.hr10 ?? Number.NaN).toFixed(4).padStart(9),
            ].join(' '),
          );
        }
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
