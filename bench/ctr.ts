import { existsSync, readFileSync } from 'node:fs';
import { rocAuc } from '../shared/marketing/classification-metrics';
import { evaluateCtrCsv } from '../shared/marketing/ctr';
import { initBackend } from '../shared/ml/backend';
import { syntheticImpressionLog } from '../shared/synthetic/impressions';
import { ML_100K } from '../test/support/shared-data';
import { report, type Row } from './report';

/**
 * `mappa ctr-eval`'s model next to logistic regression, in one run per data set:
 * - synthetic impression logs with a known click model (20k, 40k, 60k impressions; 300 users, 200 items), with
 *   the AUC of the true click probabilities on the same test rows as the ceiling;
 * - MovieLens 100K read as "shown, then liked": every rating an impression, ≥ 4★ the click (read from
 *   ../shared/data, never copied).
 */

export async function runCtrBenchmark(): Promise<void> {
  const backend = await initBackend({ force: 'wasm' });
  const rows: Row[] = [];
  const add = async (dataset: string, csv: string, ceiling: number | null) => {
    const started = performance.now();
    const result = await evaluateCtrCsv(csv, { label: 'clicked' });
    const seconds = (performance.now() - started) / 1000;
    for (const [model, metrics] of [
      ['two-tower + calibrated head (Mappa)', result.models.ctr],
      ['logistic regression', result.models.logisticRegression],
    ] as const) {
      rows.push({
        dataset,
        model,
        test_rows: result.test.rows,
        test_click_rate: Number((result.test.clicks / result.test.rows).toFixed(4)),
        roc_auc: metrics.rocAuc,
        auc_ci95: `${metrics.rocAucCi95[0].toFixed(3)}–${metrics.rocAucCi95[1].toFixed(3)}`,
        log_loss: metrics.logLoss,
        ece: metrics.calibrationError,
        mean_predicted: metrics.meanPredicted,
        true_probability_auc: ceiling,
        seconds: Number(seconds.toFixed(1)),
      });
    }
  };
  for (const impressions of [20_000, 40_000, 60_000]) {
    const log = syntheticImpressionLog({ users: 300, items: 200, impressions });
    const labels = log.csv
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => Number(line.split(',').at(-1)));
    // The rows are already in time order: the test part is the last 20%.
    const testStart = Math.floor(impressions * 0.8);
    const ceiling = rocAuc(log.clickProbabilities.subarray(testStart), labels.slice(testStart));
    await add(
      `synthetic ${impressions.toLocaleString('en-US')} impressions`,
      log.csv,
      Number(ceiling.toFixed(4)),
    );
  }
  if (existsSync(ML_100K)) {
    const csv = [
      'user_id,item_id,timestamp,clicked',
      ...readFileSync(ML_100K, 'utf8')
        .trim()
        .split('\n')
        .map((line) => {
          const [user, item, rating, timestamp] = line.split('\t');
          return `${user},${item},${timestamp},${Number(rating) >= 4 ? 1 : 0}`;
        }),
    ].join('\n');
    await add('MovieLens 100K (rated → liked ≥ 4★)', csv, null);
  }
  report('ctr', rows, { backend: backend.backend });
}
