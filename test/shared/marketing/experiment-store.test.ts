import { SeededRandom } from '../../../shared/data/random';
import {
  createExperiment,
  experimentOutcomes,
  forgetExposure,
  recordExposure,
  recordOutcomes,
  variantTotals,
} from '../../../shared/marketing/experiment-store';
import {
  type ExperimentDefinition,
  experimentReport,
  experimentReportFromTotals,
  totalsOf,
} from '../../../shared/marketing/experiments';
import { startTestStack } from '../../support/local-stack';

describe('experiment counters pre-aggregated per variant', () => {
  const definition: ExperimentDefinition = {
    experimentId: 'counters-test',
    variants: [
      { name: 'control', strategy: 'popular', weight: 1 },
      { name: 'model', strategy: 'personalized', weight: 1 },
    ],
    costPerContact: 0.1,
    minimumDetectableLift: 0.1,
  } as ExperimentDefinition;

  it('equal the totals of the per-user items after exposures, outcomes and forgotten users', async () => {
    const { stack, stop } = await startTestStack({ iam: false });
    try {
      const table = { client: stack.dynamoDb, table: stack.names.tables.experiments };
      await createExperiment(table, definition, new Date('2026-11-01T00:00:00Z'));
      const random = new SeededRandom(3);
      const users = Array.from({ length: 120 }, (_, index) => `u${index}`);
      for (const userId of users) {
        const variant = random.bernoulli(0.5) ? 'model' : 'control';
        for (let exposure = 0; exposure <= random.int(3); exposure++) {
          await recordExposure(table, definition.experimentId, userId, variant);
        }
        // A second exposure with another variant name never moves the user: the first one is sticky.
        if (random.bernoulli(0.1)) await recordExposure(table, definition.experimentId, userId, 'control');
        for (let batch = 0; batch < random.int(3); batch++) {
          const converted = random.bernoulli(0.3);
          await recordOutcomes(table, definition.experimentId, userId, {
            clicks: 1 + random.int(2),
            conversions: converted ? 1 : 0,
            revenue: converted ? Number((5 + random.next() * 50).toFixed(2)) : 0,
          });
        }
      }
      // Outcomes of a user never exposed change nothing.
      expect(
        await recordOutcomes(table, definition.experimentId, 'stranger', {
          clicks: 1,
          conversions: 1,
          revenue: 9,
        }),
      ).toBe(false);
      for (const userId of users.slice(0, 10)) await forgetExposure(table, definition.experimentId, userId);

      const counted = await variantTotals(table, definition.experimentId);
      const outcomes = await experimentOutcomes(table, definition.experimentId);
      const reference = totalsOf(outcomes);
      expect([...counted.keys()].sort()).toEqual(['control', 'model']);
      for (const [variant, totals] of reference) {
        const sums = counted.get(variant);
        expect(sums).toMatchObject({
          users: totals.users,
          exposures: totals.exposures,
          clicks: totals.clicks,
          clickers: totals.clickers,
          converters: totals.converters,
        });
        expect(sums?.revenue).toBeCloseTo(totals.revenue, 6);
        expect(sums?.revenueSquares).toBeCloseTo(totals.revenueSquares, 3);
      }
      // The report from the counters is the report from every user.
      const fromCounters = experimentReportFromTotals(definition, counted);
      const fromUsers = experimentReport(definition, outcomes);
      expect(fromCounters.variants.map((variant) => variant.conversionRate)).toEqual(
        fromUsers.variants.map((variant) => variant.conversionRate),
      );
      const lift = (report: typeof fromUsers) =>
        report.variants[1]?.vsControl?.revenuePerUser.pValue ?? Number.NaN;
      expect(lift(fromCounters)).toBeCloseTo(lift(fromUsers), 6);
    } finally {
      await stop();
    }
  });

  it("counts an outcome only inside the user's attribution window, by the event's own time", async () => {
    const { stack, stop } = await startTestStack({ iam: false });
    try {
      const table = { client: stack.dynamoDb, table: stack.names.tables.experiments };
      const windowed = { ...definition, experimentId: 'window-test', attributionWindowDays: 7 };
      await createExperiment(table, windowed, new Date('2026-11-01T00:00:00Z'));
      const exposedAt = new Date('2026-11-10T12:00:00Z');
      await recordExposure(table, 'window-test', 'w1', 'model', { at: exposedAt, days: 7 });
      const buy = { clicks: 1, conversions: 1, revenue: 20 };
      const at = (hours: number) => new Date(exposedAt.getTime() + hours * 3_600_000);
      expect(await recordOutcomes(table, 'window-test', 'w1', buy, at(-1))).toBe(false); // before the exposure
      expect(await recordOutcomes(table, 'window-test', 'w1', buy, at(8 * 24))).toBe(false); // after 7 days
      expect(await recordOutcomes(table, 'window-test', 'w1', buy, at(24))).toBe(true);
      // A later exposure does not move the window: it opened with the first.
      await recordExposure(table, 'window-test', 'w1', 'model', { at: at(24 * 6), days: 7 });
      expect(await recordOutcomes(table, 'window-test', 'w1', buy, at(24 * 7 + 1))).toBe(false);
      const report = experimentReportFromTotals(windowed, await variantTotals(table, 'window-test'));
      expect(report.variants.find((variant) => variant.variant === 'model')).toMatchObject({
        users: 1,
        exposures: 2,
        clicks: 1,
        clickers: 1,
        clickRate: 1,
        converters: 1,
        revenue: 20,
      });
    } finally {
      await stop();
    }
  });
});
