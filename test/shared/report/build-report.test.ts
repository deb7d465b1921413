import { buildReport } from '../../../shared/report/build-report';
import type { SegmentsArtifact } from '../../../shared/contracts/artifacts';

const summary = (mean: number) => ({ mean, median: mean, p10: mean, p90: mean });

function segments(monetary: number): SegmentsArtifact {
  return {
    k: 1,
    silhouettes: {},
    profiles: [
      {
        segment: 0,
        name: 'S1',
        description: 'regular raters of Drama',
        size: 10,
        share: 1,
        rfm: { recencyDays: summary(3), frequency: summary(20), monetary: summary(monetary) },
        topCategories: [{ category: 'Drama', share: 0.4, lift: 1.3 }],
        topItems: [],
        behaviour: { rating: 1 },
      },
    ],
  } as unknown as SegmentsArtifact;
}

const ingestion = { files: 1, rowsIn: 10, accepted: 10, duplicates: 0, rejected: 0, byReason: {} };

describe('the HTML report on data that cannot support every figure', () => {
  it('says a ratings log has no purchases: activity propensity, no monetary column of zeros', () => {
    const html = buildReport({
      generatedAt: '2026-12-01T00:00:00Z',
      segments: segments(0),
      propensity: {
        purchase: {
          horizonDays: 30,
          definition: 'is active in the next 30 days (the data has no purchase events)',
          users: 10,
          positiveRate: 0.5,
          trained: false,
          reason: 'too few users of one outcome to learn from',
        },
      },
      ingestion,
    });
    expect(html).toContain('Activity propensity (the data has no purchases)');
    expect(html).not.toContain('<h2>Purchase propensity</h2>');
    expect(html).toContain('Monetary value is not shown: the data has no purchase events with a value');
    expect(html).not.toContain('<th>monetary</th>');
  });

  it('shows monetary value and purchase propensity when the data has purchases', () => {
    const html = buildReport({ generatedAt: '2026-12-01T00:00:00Z', segments: segments(42.5), ingestion });
    expect(html).toContain('<th>monetary</th>');
    expect(html).toContain('<td>42.5</td>');
    expect(html).toContain('<h2>Purchase propensity</h2>');
  });
});
