import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedStack } from '../../shared/local/embedded-stack';
import { createExperiment, variantTotals } from '../../shared/marketing/experiment-store';
import { experimentSchema } from '../../shared/marketing/experiments';
import { generateCampaign } from '../../shared/synthetic/campaign';
import { runMappa } from '../support/cli';

describe('mappa uplift-eval and uplift-score', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mappa-uplift-'));
  const csv = join(dir, 'campaign.csv');
  const modelFile = join(dir, 'uplift.json');
  beforeAll(() => writeFileSync(csv, generateCampaign({ rows: 8_000, seed: 2 }).csv));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints ate, qini, auuc and deciles per estimator and for the chosen one as JSON, and saves the chosen model', () => {
    const result = runMappa([
      'uplift-eval',
      '--csv',
      csv,
      '--treatment',
      'group',
      '--control',
      'control',
      '--outcome',
      'purchased',
      '--drop',
      'customer_id',
      '--json',
      '--save-model',
      modelFile,
    ]);
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout) as Record<string, unknown> & {
      estimators: Record<string, Record<string, unknown>>;
      chosen: Record<string, unknown>;
      ate: { difference: number; ci95: number[] };
    };
    expect(Object.keys(report.estimators).sort()).toEqual(['t_learner', 'transformed_outcome', 'x_learner']);
    for (const estimator of [...Object.values(report.estimators), report.chosen]) {
      expect(estimator).toEqual(
        expect.objectContaining({
          ate: expect.any(Number),
          qini: expect.any(Number),
          auuc: expect.any(Number),
          deciles: expect.any(Array),
        }),
      );
      expect(estimator.deciles).toHaveLength(10);
    }
    expect(report.ate.ci95).toHaveLength(2);
    expect(report).toHaveProperty('baselines.propensity.qini');
    // Progress goes to stderr, one line per step; stdout is the JSON alone.
    expect(result.stderr).toMatch(/^t_learner: validation Qini/m);
    expect(existsSync(modelFile)).toBe(true);
  });

  it('scores a customer file with the saved model: one row per customer, uplift and decile', () => {
    const out = join(dir, 'scores.csv');
    const result = runMappa([
      'uplift-score',
      '--model',
      modelFile,
      '--csv',
      csv,
      '--id',
      'customer_id',
      '--out',
      out,
    ]);
    expect(result.status).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('row,customer_id,uplift,decile');
    expect(lines).toHaveLength(8_001);
    expect(lines[1]).toMatch(/^1,c1,-?\d+(\.\d+)?(e-?\d+)?,(10|[1-9])$/);
  });

  it('with --treated, leaves other arms out; a treatment value no row has is a one-line error, exit 2', () => {
    const threeArms = join(dir, 'three-arms.csv');
    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    // Every fifth customer moves to a third arm.
    writeFileSync(
      threeArms,
      `${lines.map((line, index) => (index > 0 && index % 5 === 0 ? line.replace(/,(email|control),/, ',sms,') : line)).join('\n')}\n`,
    );
    const base = [
      'uplift-eval',
      '--csv',
      threeArms,
      '--treatment',
      'group',
      '--control',
      'control',
      '--outcome',
      'purchased',
      '--drop',
      'customer_id',
      '--json',
    ];
    const result = runMappa([...base, '--treated', 'email']);
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ otherArms: 1_600, analysedRows: 6_400 });
    const missing = runMappa([...base, '--treated', 'push']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toBe("mappa: no row has group = 'push' (the treated value)\n");
  });
});

describe('mappa price-eval', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mappa-prices-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints elasticities and recommended prices per category × segment as JSON; a bad --bounds is exit 2', () => {
    const generated = runMappa(['generate', '--preset', 'tiny', '--out', dir, '--prices', '--json']);
    expect(generated.status).toBe(0);
    const file = (JSON.parse(generated.stdout) as Record<string, { path: string }>).prices?.path as string;
    const result = runMappa(['price-eval', '--csv', file, '--json']);
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout) as {
      groups: { category: string; decision: string; elasticity: { ci95: number[] } }[];
    };
    expect(report.groups).toHaveLength(6);
    for (const group of report.groups) {
      expect(['raise', 'cut', 'keep']).toContain(group.decision);
      expect(group.elasticity.ci95).toHaveLength(2);
    }
    const bad = runMappa(['price-eval', '--csv', file, '--bounds', '2']);
    expect(bad).toMatchObject({ status: 2, stdout: '' });
    expect(bad.stderr).toBe("mappa: --bounds must be a share between 0 and 1 (0.2 = ±20%), got '2'\n");
  });
});

describe('mappa experiment import', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mappa-import-'));
  const dataDir = join(dir, 'stack');
  const stackFlags = ['--data-dir', dataDir, '--s3-port', '0', '--dynamodb-port', '0'];
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('imports a campaign file once per customer, with exposure times; a second run changes nothing; an unknown arm names its row', async () => {
    let stack = await EmbeddedStack.start({ dataDir, s3Port: 0, dynamoDbPort: 0 });
    const table = () => ({ client: stack.dynamoDb, table: stack.names.tables.experiments });
    await createExperiment(
      table(),
      experimentSchema.parse({
        experimentId: 'mail-drop',
        variants: [{ name: 'control' }, { name: 'mail' }],
      }),
      new Date(),
    );
    await stack.stop();
    const csv = join(dir, 'arms.csv');
    writeFileSync(
      csv,
      ['customer,arm,sent_at', 'a1,mail,2026-03-02T10:00:00Z', 'a2,control,1772445600', 'a3,mail,'].join(
        '\n',
      ),
    );
    const importArms = (...options: string[]) => [
      'experiment',
      'import',
      '--csv',
      csv,
      '--experiment',
      'mail-drop',
      '--user',
      'customer',
      ...options,
      ...stackFlags,
    ];
    const args = importArms('--time', 'sent_at', '--json');
    const first = runMappa(args);
    expect(first.status).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({
      experimentId: 'mail-drop',
      rows: 3,
      imported: 3,
      conflicts: 0,
    });
    expect(JSON.parse(runMappa(args).stdout)).toMatchObject({ imported: 0, alreadyAssigned: 3 });

    stack = await EmbeddedStack.start({ dataDir, s3Port: 0, dynamoDbPort: 0 });
    try {
      const totals = await variantTotals(table(), 'mail-drop');
      expect(totals.get('mail')).toMatchObject({ users: 2, exposures: 2 });
      expect(totals.get('control')).toMatchObject({ users: 1, exposures: 1 });
    } finally {
      await stack.stop();
    }

    writeFileSync(csv, ['customer,arm', 'a4,mail', 'a5,sms'].join('\n'));
    const wrong = runMappa(importArms());
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toBe("mappa: arm on data row 2 is 'sms', not an arm of mail-drop (control, mail)\n");
  });
});
