import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rocAuc } from '../../shared/marketing/classification-metrics';
import { randomSplit } from '../../shared/marketing/propensity-eval';
import { binaryTarget, parseCsvTable } from '../../shared/marketing/tabular';
import { SYNTHETIC_PRESETS } from '../../shared/synthetic/generator';
import { SeededRandom } from '../../shared/data/random';
import { writeSyntheticDataset } from '../../shared/synthetic/write-files';
import { runMappa } from '../support/cli';

/**
 * A contact log in time order over two years: mass-campaign days (many calls,
 * few conversions) and follow-up days (few calls, many conversions).
 */
function contactLogCsv(seed: number): string {
  const random = new SeededRandom(seed);
  const lines = ['age,plan,day,month,y'];
  for (let month = 0; month < 24; month++) {
    for (const day of [3, 10, 17, 24]) {
      const mass = random.next() < 0.5;
      const calls = mass ? 40 + random.int(20) : 3 + random.int(5);
      for (let call = 0; call < calls; call++) {
        const age = 20 + random.int(50);
        const plan = random.next() < 0.3 ? 'pro' : 'basic';
        const logit = (mass ? -3 : 0.2) + (plan === 'pro' ? 0.8 : 0) + 0.01 * (age - 45);
        const y = random.next() < 1 / (1 + Math.exp(-logit)) ? 'yes' : 'no';
        lines.push([age, plan, day, MONTHS[month % 12], y].join(','));
      }
    }
  }
  return `${lines.join('\n')}\n`;
}
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/** ROC AUC of saved-model scores on the rows of the random split's test set (seed 7, 20%). */
function randomSplitTestAuc(scores: readonly { probability: number }[], csv: string, target: string): number {
  const labels = binaryTarget(parseCsvTable(readFileSync(csv, 'utf8')), target);
  const { test } = randomSplit(labels.length, 0.2, 7);
  return rocAuc(
    test.map((row) => scores[row]?.probability as number),
    Uint8Array.from(test, (row) => labels[row] as number),
  );
}

describe('mappa propensity-eval', () => {
  let dir: string;
  let campaigns: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mappa-propensity-'));
    const files = await writeSyntheticDataset(dir, {
      ...SYNTHETIC_PRESETS.small,
      users: 600,
      interactions: 15_000,
    });
    campaigns = files.campaigns.path;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('evaluates any CSV with a binary target on both splits, next to logistic regression (--json)', () => {
    const result = runMappa([
      'propensity-eval',
      '--csv',
      campaigns,
      '--target',
      'converted',
      '--drop',
      'revenue,user_id',
      '--json',
      '--save-model',
      join(dir, 'model.json'),
    ]);
    expect(result.stderr).not.toMatch(/mappa:/);
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ target: 'converted', dropped: ['revenue', 'user_id'] });
    for (const split of ['random', 'temporal']) {
      const outcome = report.splits[split];
      expect(outcome.trainRows + outcome.validationRows + outcome.testRows).toBe(report.rows);
      for (const model of ['mlp', 'logisticRegression']) {
        const metrics = outcome[model];
        for (const key of ['rocAuc', 'prAuc', 'precision', 'recall', 'f1', 'calibrationError', 'brier']) {
          expect(metrics[key]).toBeGreaterThanOrEqual(0);
          expect(metrics[key]).toBeLessThanOrEqual(1);
        }
        expect(metrics.rows).toBe(outcome.testRows);
      }
      expect(outcome.curves.roc.at(-1)).toEqual({ fpr: 1, tpr: 1 });
    }
    expect(report.context).toBeNull(); // no contact date columns in this file
    expect([report.splits.random.context, report.splits.temporal.context]).toEqual([null, null]);
    expect(report.splits.temporal.recencyHalfLife.value).toEqual(expect.any(Number));
    expect(report.splits.random.recencyHalfLife).toBeNull();

    // The saved model round-trips: scoring the same file reproduces the random split's test AUC.
    const scored = runMappa([
      'propensity-score',
      '--model',
      join(dir, 'model.json'),
      '--csv',
      campaigns,
      '--id',
      'user_id',
      '--json',
    ]);
    expect(scored.stderr).not.toMatch(/mappa:/);
    expect(scored.status).toBe(0);
    const { model, rows, scores } = JSON.parse(scored.stdout) as {
      model: { target: string; threshold: number; metadata: { split: string } };
      rows: number;
      scores: { row: number; id: string; probability: number; decile: number; predicted: boolean }[];
    };
    // The saved model is the one validation chose (the logistic regression unless the MLP beat it there).
    const chosen = report.splits.random.chosen.model;
    expect(model).toMatchObject({ target: 'converted', metadata: { split: 'random', model: chosen } });
    expect(rows).toBe(report.rows);
    expect(new Set(scores.map((score) => score.decile))).toEqual(new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    expect(scores.every((score) => score.probability >= model.threshold === score.predicted)).toBe(true);
    expect(randomSplitTestAuc(scores, campaigns, 'converted')).toBeCloseTo(
      report.splits.random[chosen === 'mlp' ? 'mlp' : 'logisticRegression'].rocAuc,
      3,
    );
  });

  it('adds the campaign context from contact dates, saves it with the model and derives it when scoring', () => {
    const contactLog = join(dir, 'contact-log.csv');
    writeFileSync(contactLog, contactLogCsv(11));
    const modelFile = join(dir, 'context-model.json');
    const result = runMappa([
      'propensity-eval',
      '--csv',
      contactLog,
      '--target',
      'y',
      '--json',
      '--save-model',
      modelFile,
    ]);
    expect(result.stderr).not.toMatch(/mappa:/);
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout);
    // Progress of the choices made on validation: plain and with context; on the temporal split × 6 half-lives.
    expect(result.stderr).toContain(
      'random split: choosing on validation 2/2 (with campaign context): validation AUC',
    );
    expect(result.stderr).toContain(
      'temporal split: choosing on validation 12/12 (with campaign context, recency half-life 0.01): validation AUC',
    );
    expect(report.context).toEqual({
      column: 'contacts_same_day',
      dateColumns: ['day', 'month'],
      yearInferredFromRowOrder: true,
    });
    for (const split of ['random', 'temporal']) {
      // Kept because it wins on the split's validation rows (chosen there, never on the test rows).
      const { used, validationAuc } = report.splits[split].context;
      expect(used).toBe(true);
      expect(validationAuc.with).toBeGreaterThan(validationAuc.without);
    }
    expect(report.features).toBe(5); // age, plan, day, month + contacts_same_day
    const model = JSON.parse(readFileSync(modelFile, 'utf8'));
    expect(model.context).toEqual({ kind: 'day-month', day: 'day', month: 'month' });
    expect(model.encoder.features.map((feature: { name: string }) => feature.name)).toContain(
      'contacts_same_day',
    );

    // Scoring the file (which has no contacts_same_day column) reproduces the random split's test AUC.
    const scored = runMappa(['propensity-score', '--model', modelFile, '--csv', contactLog, '--json']);
    expect(scored.status).toBe(0);
    const { scores } = JSON.parse(scored.stdout) as { scores: { probability: number }[] };
    expect(randomSplitTestAuc(scores, contactLog, 'y')).toBeCloseTo(report.splits.random.mlp.rocAuc, 3);

    // Without the date columns the model cannot count the volume, and says which column it needs.
    const noDates = join(dir, 'no-dates.csv');
    writeFileSync(noDates, 'age,plan\n40,basic\n');
    const refused = runMappa(['propensity-score', '--model', modelFile, '--csv', noDates]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain("contact date column 'day' is not in the file");

    const without = runMappa([
      'propensity-eval',
      '--csv',
      contactLog,
      '--target',
      'y',
      '--no-context',
      '--json',
    ]);
    expect(without.status).toBe(0);
    const withoutReport = JSON.parse(without.stdout);
    expect(withoutReport).toMatchObject({ context: null, features: 4 });
    // The volume is what drives conversion in this log: the model with it ranks far better.
    for (const split of ['random', 'temporal'])
      expect(report.splits[split].mlp.rocAuc).toBeGreaterThan(withoutReport.splits[split].mlp.rocAuc + 0.05);
  });

  it('refuses a model file that is not a propensity model, in one line', () => {
    const notModel = join(dir, 'not-a-model.json');
    writeFileSync(notModel, '{"format":"something-else"}');
    const result = runMappa(['propensity-score', '--model', notModel, '--csv', campaigns]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("not a Mappa propensity model (format 'something-else'");
  });

  it.each([
    [['--target', 'bought'], "target column 'bought' is not in the file"],
    [['--target', 'converted', '--drop', 'nope'], "--drop column 'nope' is not in the file"],
    [['--target', 'channel'], "target 'channel' on data row 1 is"],
  ])('explains a bad flag in one line with exit code 2: %j', (flags, message) => {
    const result = runMappa(['propensity-eval', '--csv', campaigns, ...flags]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('names a missing file', () => {
    const result = runMappa(['propensity-eval', '--csv', join(dir, 'missing.csv'), '--target', 'y']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('missing.csv');
  });
});
