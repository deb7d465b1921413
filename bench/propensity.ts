import { existsSync, readFileSync } from 'node:fs';
import { evaluatePropensityCsv } from '../shared/marketing/propensity-eval';
import { initBackend } from '../shared/ml/backend';
import { BANK_FULL as BANK } from '../test/support/shared-data';
import { report, type Row } from './report';

/**
 * Propensity on the UCI bank-marketing campaign (read from ../shared/data):
 * target `y`, `duration` dropped (known only after the call: it leaks the
 * answer). ROC AUC on a random 80/20 split (seed 7) and a temporal split (first
 * 80% of rows train), for the calibrated MLP ensemble and an L2 logistic
 * regression on the same features in the same run, with and without the
 * campaign-context feature (contacts on the same day), next to the issue's
 * logistic-regression references.
 */
const REFERENCE_LOGISTIC_AUC = { random: 0.761, temporal: 0.683 };
const TARGET_AUC = { random: 0.79, temporal: 0.71 };

export async function runPropensityBenchmark(): Promise<void> {
  if (!existsSync(BANK))
    throw new Error(`${BANK} not found: the benchmark reads bank marketing from ../shared/data`);
  const backend = await initBackend({ force: 'wasm' });
  const text = readFileSync(BANK, 'utf8');
  const started = performance.now();
  const options = { target: 'y', drop: ['duration'], seed: 7 };
  const result = await evaluatePropensityCsv(text, options);
  const seconds = (performance.now() - started) / 1000;
  // The same run without the campaign-context feature: what the customer columns alone give.
  const withoutContext = await evaluatePropensityCsv(text, { ...options, context: false });
  const rows: Row[] = [];
  for (const split of ['random', 'temporal'] as const) {
    const outcome = result.splits[split];
    const plain = withoutContext.splits[split];
    const withContext = outcome.context?.used
      ? `customer + campaign context (validation AUC ${outcome.context.validationAuc.with} vs ${outcome.context.validationAuc.without} without)`
      : 'customer columns (campaign context not chosen on validation)';
    for (const [model, features, metrics] of [
      ['MLP ensemble, calibrated (Mappa)', withContext, outcome.mlp],
      ['L2 logistic regression', withContext, outcome.logisticRegression],
      ['MLP ensemble, calibrated (Mappa)', 'customer columns only (--no-context)', plain.mlp],
      ['L2 logistic regression', 'customer columns only (--no-context)', plain.logisticRegression],
    ] as const) {
      rows.push({
        split,
        model,
        features,
        roc_auc: Number(metrics.rocAuc.toFixed(4)),
        pr_auc: Number(metrics.prAuc.toFixed(4)),
        f1: Number(metrics.f1.toFixed(3)),
        ece: Number(metrics.calibrationError.toFixed(4)),
        lift_top10: Number(metrics.liftTop10.toFixed(2)),
        target_auc: metrics === outcome.mlp ? `>= ${TARGET_AUC[split]}` : null,
      });
    }
    rows.push({
      split,
      model: 'L2 logistic regression (issue reference)',
      features: 'customer columns only',
      roc_auc: REFERENCE_LOGISTIC_AUC[split],
      pr_auc: null,
      f1: null,
      ece: null,
      lift_top10: null,
      target_auc: null,
    });
  }
  report('propensity', rows, {
    backend: backend.backend,
    seconds: Number(seconds.toFixed(1)),
    dataset: 'UCI bank-marketing bank-full.csv (45,211 rows), target y, duration dropped',
    context: result.context,
    temporalRecencyHalfLife: result.splits.temporal.recencyHalfLife,
    temporalRecencyHalfLifeWithoutContext: withoutContext.splits.temporal.recencyHalfLife,
  });
}
