import { parseCsvTable, TableError } from '../../../shared/marketing/tabular';
import { fitRidgeRegression, ridgePredictions } from '../../../shared/marketing/ridge-regression';
import { campaignRows } from '../../../shared/marketing/uplift';
import { evaluateUplift, scoreUplift } from '../../../shared/marketing/uplift-eval';
import {
  areaUnderUpliftCurve,
  qiniCoefficient,
  upliftDeciles,
} from '../../../shared/marketing/uplift-metrics';
import { generateCampaign } from '../../../shared/synthetic/campaign';

describe('uplift metrics', () => {
  // Four kinds of customer, 25 each: treated responders, treated non-responders, control non-responders,
  // control responders. A ranking that puts the first kind first and the last kind last is perfect.
  const kinds = [
    { treated: 1, outcome: 1 },
    { treated: 1, outcome: 0 },
    { treated: 0, outcome: 0 },
    { treated: 0, outcome: 1 },
  ];
  const sample = {
    treated: Uint8Array.from(
      { length: 100 },
      (_, row) => (kinds[Math.floor(row / 25)] as { treated: number }).treated,
    ),
    outcome: Float64Array.from(
      { length: 100 },
      (_, row) => (kinds[Math.floor(row / 25)] as { outcome: number }).outcome,
    ),
  };
  const perfect = Float64Array.from({ length: 100 }, (_, row) => 100 - row);

  it('scores the perfect ranking 1 and its reverse below 0, on both areas', () => {
    expect(qiniCoefficient(perfect, sample)).toBeCloseTo(1, 6);
    expect(areaUnderUpliftCurve(perfect, sample)).toBeCloseTo(1, 6);
    const reversed = perfect.map((score) => -score);
    expect(qiniCoefficient(reversed, sample)).toBeLessThan(0);
    expect(areaUnderUpliftCurve(reversed, sample)).toBeLessThan(0);
  });

  it('scores a ranking that ignores the outcome near 0 (random targeting)', () => {
    // Treated and control interleaved, responders spread evenly: no information.
    const interleaved = Float64Array.from(
      { length: 100 },
      (_, row) => ((row % 25) * 4 + Math.floor(row / 25)) * -1,
    );
    expect(Math.abs(qiniCoefficient(interleaved, sample))).toBeLessThan(0.1);
  });

  it('reports observed treated and control rates per decile of predicted uplift, highest first', () => {
    const deciles = upliftDeciles(perfect, sample);
    expect(deciles).toHaveLength(10);
    expect(deciles.reduce((sum, decile) => sum + decile.treated + decile.control, 0)).toBe(100);
    expect(deciles[0]).toMatchObject({ decile: 1, treated: 10, control: 0, treatedRate: 1 });
    expect(deciles[9]).toMatchObject({ decile: 10, treated: 0, control: 10, controlRate: 1 });
  });
});

describe('ridge regression', () => {
  it('recovers the coefficients of exactly linear data (tiny penalty)', () => {
    const rows = 200;
    const values = new Float32Array(rows * 2);
    const targets = new Float64Array(rows);
    for (let row = 0; row < rows; row++) {
      const a = Math.sin(row);
      const b = Math.cos(row * 0.7);
      values[row * 2] = a;
      values[row * 2 + 1] = b;
      targets[row] = 3 * a - 2 * b + 0.5;
    }
    const data = { values, rows, width: 2 };
    const model = fitRidgeRegression(data, targets, undefined, 1e-9);
    expect(model.coefficients[0]).toBeCloseTo(3, 4);
    expect(model.coefficients[1]).toBeCloseTo(-2, 4);
    expect(model.intercept).toBeCloseTo(0.5, 4);
    expect(ridgePredictions(model, data)[7]).toBeCloseTo(targets[7] as number, 4);
  });
});

describe('uplift-eval on synthetic campaigns with a known uplift function', () => {
  const options = (outcome: string) => ({
    treatment: { column: 'group', control: 'control' },
    outcome,
    drop: ['customer_id'],
  });

  it('binary outcome: the chosen model beats random and propensity targeting, and the ATE CI covers the truth', () => {
    const campaign = generateCampaign({ rows: 30_000, seed: 3 });
    const { result, model } = evaluateUplift(parseCsvTable(campaign.csv), options('purchased'));
    expect(result.outcome.kind).toBe('binary');
    expect(result.chosen.qini).toBeGreaterThan(0.03);
    expect(result.chosen.qini).toBeGreaterThan(result.baselines.propensity.qini + 0.03);
    expect(result.chosen.auuc).toBeGreaterThan(result.baselines.propensity.auuc);
    expect(result.ate.test).toBe('two_proportion_z');
    expect(result.ate.ci95[0]).toBeLessThanOrEqual(campaign.trueAte);
    expect(result.ate.ci95[1]).toBeGreaterThanOrEqual(campaign.trueAte);
    // The persuadables end up on top, the sleeping dogs at the bottom.
    const [top, bottom] = [result.chosen.deciles[0], result.chosen.deciles[9]];
    expect(top?.observedUplift).toBeGreaterThan(0.05);
    expect(bottom?.observedUplift).toBeLessThan(0);
    // The saved model scores like the evaluation's chosen estimator: its top tenth has the highest true uplift.
    const scores = scoreUplift(model, parseCsvTable(campaign.csv));
    const order = Array.from(scores.keys()).sort((a, b) => (scores[b] as number) - (scores[a] as number));
    const meanTrue = (rows: number[]) =>
      rows.reduce((sum, row) => sum + (campaign.trueUplift[row] as number), 0) / rows.length;
    expect(meanTrue(order.slice(0, 3_000))).toBeGreaterThan(3 * campaign.trueAte);
    expect(meanTrue(order.slice(-3_000))).toBeLessThan(0);
  });

  it('numeric outcome (spend): Welch interval covers the true average effect; uplift still beats propensity', () => {
    const campaign = generateCampaign({ rows: 30_000, seed: 5, outcome: 'numeric' });
    const { result } = evaluateUplift(parseCsvTable(campaign.csv), options('spend'));
    expect(result.outcome.kind).toBe('numeric');
    expect(result.ate.test).toBe('welch_t');
    expect(result.ate.ci95[0]).toBeLessThanOrEqual(campaign.trueAte);
    expect(result.ate.ci95[1]).toBeGreaterThanOrEqual(campaign.trueAte);
    expect(result.chosen.qini).toBeGreaterThan(result.baselines.propensity.qini);
  });
});

describe('reading a campaign file', () => {
  const table = parseCsvTable(
    [
      'id,x,arm,bought',
      '1,1,control,no',
      '2,2,mail,yes',
      '3,3,sms,no',
      '4,4,mail,no',
      '5,5,control,yes',
      '6,6,sms,1',
    ].join('\n'),
  );

  it('with --treated keeps control and that arm only, and counts the rows left out', () => {
    const campaign = campaignRows(table, { column: 'arm', control: 'control', treated: 'mail' }, 'bought');
    expect(campaign.rows).toEqual([0, 1, 3, 4]);
    expect([...campaign.treated]).toEqual([0, 1, 1, 0]);
    expect(campaign.otherArms).toBe(2);
    expect(campaign.kind).toBe('binary');
    // Without it, every non-control arm is treated.
    expect(campaignRows(table, { column: 'arm', control: 'control' }, 'bought').rows).toHaveLength(6);
  });

  it('names the problem: an unknown column, a control value no row has, an outcome that is no number', () => {
    expect(() => campaignRows(table, { column: 'arms', control: 'control' }, 'bought')).toThrow(
      new TableError("treatment column 'arms' is not in the file (columns: id, x, arm, bought)"),
    );
    expect(() => campaignRows(table, { column: 'arm', control: 'holdout' }, 'bought')).toThrow(
      /no row has arm = 'holdout' \(the control value\); values seen: control, mail, sms/,
    );
    const spend = parseCsvTable(['arm,spend', 'control,1.5', 'mail,n/a'].join('\n'));
    expect(() => campaignRows(spend, { column: 'arm', control: 'control' }, 'spend')).toThrow(
      /outcome 'spend' on data row 2 is 'n\/a'/,
    );
  });
});
