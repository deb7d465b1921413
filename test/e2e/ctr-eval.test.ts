import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CtrEvalResult } from '../../shared/marketing/ctr';
import { syntheticImpressionLog } from '../../shared/synthetic/impressions';
import { runMappa } from '../support/cli';

/**
 * An impression log whose clicks follow a known model with a user–item affinity term: only a model of
 * (user, item) pairs can learn that part, so the two-tower CTR model must beat a logistic regression on the
 * side features and the users' and items' own click rates — and stay calibrated.
 */
describe('mappa ctr-eval', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mappa-ctr-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('learns a calibrated click probability that beats logistic regression on an impression log', () => {
    const file = join(dir, 'impressions.csv');
    writeFileSync(file, syntheticImpressionLog({ users: 300, items: 200, impressions: 40_000 }).csv);
    const run = runMappa(['ctr-eval', '--csv', file, '--label', 'clicked', '--json']);
    expect(run.stderr).toMatch(/two-tower epoch 1: validation log loss/);
    expect(run.status).toBe(0);
    const result = JSON.parse(run.stdout) as CtrEvalResult;
    expect(result).toMatchObject({
      rows: 40_000,
      split: 'temporal',
      sideFeatures: ['position', 'device'],
      warnings: [],
    });
    const { ctr, logisticRegression } = result.models;
    expect(ctr.rocAuc).toBeGreaterThan(logisticRegression.rocAuc + 0.03);
    expect(ctr.logLoss).toBeLessThan(logisticRegression.logLoss);
    // Calibrated: the mean prediction matches the test click rate, and the reliability bins sit near the diagonal.
    const testRate = result.test.clicks / result.test.rows;
    expect(Math.abs(ctr.meanPredicted - testRate)).toBeLessThan(0.02);
    expect(ctr.calibrationError).toBeLessThan(0.03);
    expect(ctr.rocAucCi95[0]).toBeLessThan(ctr.rocAuc);
    expect(ctr.rocAucCi95[1]).toBeGreaterThan(ctr.rocAuc);
  });

  it('warns, with the confidence interval, when the test set is too small for the comparison to mean much', () => {
    const file = join(dir, 'small.csv');
    writeFileSync(file, syntheticImpressionLog({ users: 40, items: 30, impressions: 1_500, seed: 9 }).csv);
    const run = runMappa(['ctr-eval', '--csv', file, '--label', 'clicked']);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(
      /^warning: small test set: 300 rows with \d+ clicks; .* 95% confidence interval of 0\.\d{3}–[01]\.\d{3}/m,
    );
    expect(run.stderr).toMatch(/warning: small test set/);
  });

  it('names a missing label or id column and exits 2', () => {
    const file = join(dir, 'small.csv');
    const noLabel = runMappa(['ctr-eval', '--csv', file, '--label', 'click']);
    expect(noLabel.status).toBe(2);
    expect(noLabel.stderr).toMatch(
      /label column 'click' is not in the file \(columns: user_id, item_id, timestamp/,
    );
    const noUser = runMappa(['ctr-eval', '--csv', file, '--label', 'clicked', '--user-column', 'customer']);
    expect(noUser.status).toBe(2);
    expect(noUser.stderr).toMatch(/column 'customer' is not in the file .*--user-column/);
  });
});
