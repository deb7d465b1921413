import type { EvaluationResult } from '../ml/evaluate';
import type { RankingMetrics } from '../ml/metrics';
import type { TrainingProgress } from '../ml/train-two-tower';
import { createProgress, type Progress } from './progress';

const METRIC_COLUMNS: [keyof RankingMetrics, string][] = [
  ['hr10', 'HR@10'],
  ['ndcg10', 'NDCG@10'],
  ['precision10', 'P@10'],
  ['recall10', 'R@10'],
  ['map10', 'MAP@10'],
  ['mrr', 'MRR'],
  ['coverage10', 'Cov@10'],
];

/** Rows of cells as an aligned plain-text table: header, a dashed rule, rows; columns padded to their widest cell. */
export function alignedTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ');
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)];
}

/** The model and each baseline side by side: full-ranking metrics plus sampled-100 HR@10. */
export function formatMetricsTable(metrics: Record<string, EvaluationResult>): string {
  const header = ['', ...METRIC_COLUMNS.map(([, label]) => label), 'HR@10/s100'];
  const lines = [header.map((cell, index) => (index === 0 ? cell.padEnd(12) : cell.padStart(10))).join(' ')];
  for (const [name, result] of Object.entries(metrics)) {
    lines.push(
      [
        name.padEnd(12),
        ...METRIC_COLUMNS.map(([key]) => result.full[key].toFixed(4).padStart(10)),
        (result.sampled100?.hr10 ?? Number.NaN).toFixed(4).padStart(10),
      ].join(' '),
    );
  }
  return lines.join('\n');
}

/** Training progress for a terminal: a bar per epoch with loss and ETA, then one line per epoch. */
export function terminalTrainingProgress(stream: NodeJS.WriteStream = process.stderr): TrainingProgress {
  let bar: Progress | undefined;
  return {
    onBatch: (epoch, batch, batches, loss) => {
      if (batch === 1) bar = createProgress(`epoch ${epoch}`, batches, stream);
      bar?.update(batch, `loss ${loss.toFixed(4)}`);
      if (batch === batches) bar?.stop();
    },
    onEpoch: (stats) =>
      stream.write(
        `epoch ${stats.epoch}: loss ${stats.loss.toFixed(4)}, validation NDCG@10 ${stats.validation.ndcg10.toFixed(4)}, HR@10 ${stats.validation.hr10.toFixed(4)}, ${Math.round(stats.examplesPerSecond)} examples/s\n`,
      ),
  };
}
