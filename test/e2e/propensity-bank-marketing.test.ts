import { existsSync, readFileSync } from 'node:fs';
import { contactDateKeys, detectContactDate } from '../../shared/marketing/contact-context';
import { parseCsvTable } from '../../shared/marketing/tabular';
import { runMappa } from '../support/cli';
import { BANK_FULL, hasSharedData } from '../support/shared-data';

/** UCI bank marketing, read from ../shared/data (never copied into the repository). */

// Skipped, with a line saying why, only where ../shared/data is absent (never on CI).
(hasSharedData(BANK_FULL, 'propensity on UCI bank marketing') ? describe : describe.skip)(
  'propensity on UCI bank marketing (the issue’s quality bar)',
  () => {
    it('recovers the three campaign years from the row order of day + month', () => {
      expect(existsSync(BANK_FULL)).toBe(true);
      const table = parseCsvTable(readFileSync(BANK_FULL, 'utf8'));
      const spec = detectContactDate(table.columns, new Set(['y', 'duration']));
      expect(spec).toEqual({ kind: 'day-month', day: 'day', month: 'month' });
      const keys = contactDateKeys(table, spec as NonNullable<typeof spec>);
      const rowsPerYear = new Map<string, number>();
      for (const key of keys) {
        const year = key.split('-')[0] as string;
        rowsPerYear.set(year, (rowsPerYear.get(year) ?? 0) + 1);
      }
      // May 2008 – Dec 2008, 2009, Jan – Nov 2010: no row without a date.
      expect([...rowsPerYear]).toEqual([
        ['+0', 27_729],
        ['+1', 14_862],
        ['+2', 2_620],
      ]);
      expect(new Set(keys).size).toBe(561);
    });

    it('reaches ROC AUC >= 0.79 on the random split and >= 0.71 on the temporal one (duration dropped)', () => {
      const result = runMappa(
        ['propensity-eval', '--csv', BANK_FULL, '--target', 'y', '--drop', 'duration', '--json'],
        900_000,
      );
      expect(result.stderr).not.toMatch(/mappa:/);
      expect(result.status).toBe(0);
      const report = JSON.parse(result.stdout);
      expect(report).toMatchObject({ rows: 45_211, dropped: ['duration'] });
      expect(report.context).toMatchObject({ column: 'contacts_same_day', dateColumns: ['day', 'month'] });
      expect(report.splits.random.mlp.rocAuc).toBeGreaterThanOrEqual(0.79);
      expect(report.splits.temporal.mlp.rocAuc).toBeGreaterThanOrEqual(0.71);
      // The context is there because the validation rows chose it, on both splits.
      for (const split of ['random', 'temporal']) {
        const { used, validationAuc } = report.splits[split].context;
        expect(used).toBe(true);
        expect(validationAuc.with).toBeGreaterThan(validationAuc.without);
      }
    }, 900_000);
  },
);
