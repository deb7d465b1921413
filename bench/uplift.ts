import { parseCsvTable } from '../shared/marketing/tabular';
import { evaluateUplift } from '../shared/marketing/uplift-eval';
import { generateCampaign } from '../shared/synthetic/campaign';
import { formatTable, report, type Row } from './report';

/**
 * `mappa uplift-eval`'s work on a 64,000-row randomized campaign (the size of the public e-mail campaign issue
 * #19 names; synthetic here, with a known uplift function): CSV parse, encoding, three estimators × five
 * regularisation strengths on validation, refits, held-out metrics. Binary (conversion) and numeric (spend).
 */
export async function runUpliftBenchmark(): Promise<void> {
  const rows: Row[] = [];
  for (const outcome of ['binary', 'numeric'] as const) {
    const campaign = generateCampaign({ rows: 64_000, seed: 7, outcome });
    const started = performance.now();
    const { result } = evaluateUplift(parseCsvTable(campaign.csv), {
      treatment: { column: 'group', control: 'control' },
      outcome: campaign.outcomeColumn,
      drop: ['customer_id'],
    });
    const seconds = (performance.now() - started) / 1000;
    rows.push({
      workload: `uplift-eval, 64,000 rows, ${outcome} outcome`,
      implementation: `chosen ${result.chosen.estimator}: Qini ${result.chosen.qini.toFixed(3)} (propensity ${result.baselines.propensity.qini.toFixed(3)}), ATE ${result.ate.difference.toFixed(4)} [${result.ate.ci95.map((bound) => bound.toFixed(4)).join(', ')}] vs true ${campaign.trueAte.toFixed(4)}`,
      value: Number(seconds.toFixed(2)),
      unit: 's',
    });
  }
  report('uplift', rows, { targets: { 'uplift-eval on a 64k-row campaign': '<= 60 s (#19)' } });
  process.stdout.write(`${formatTable(rows)}\n`);
  await Promise.resolve();
}
