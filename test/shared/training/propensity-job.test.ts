import { initBackend } from '../../../shared/ml/backend';
import { scorePropensity } from '../../../shared/training/propensity-job';
import type { FactRow } from '../../../shared/training/segment-users';

const DAY = 86_400;

describe('propensity in the training job on a long historical log', () => {
  beforeAll(() => initBackend({ force: 'cpu' }));

  it('reports a trivially predictable target instead of serving a meaningless score', async () => {
    // Prepare: three years of weekly activity for 150 users; 150 others stopped after the first year.
    // Whether a user is active after the cutoff follows from their recency alone: validation AUC 1.
    const start = 1_600_000_000;
    const rows: FactRow[] = [];
    const users: string[] = [];
    for (let user = 0; user < 300; user++) {
      const userId = `u${user}`;
      users.push(userId);
      const weeks = user < 150 ? 156 : 52;
      for (let week = 0; week < weeks; week++) {
        rows.push({
          user_id: userId,
          item_id: `i${(user + week) % 40}`,
          timestamp: start + week * 7 * DAY + (user % 7) * 3_600,
          event_type: 'view',
          event_value: null,
        });
      }
    }
    // Act
    const { summary, scores } = await scorePropensity(users, rows, 7);
    // Assess
    expect(summary.churn).toMatchObject({ trained: false, validationAuc: expect.any(Number) });
    expect(summary.churn?.validationAuc).toBeGreaterThanOrEqual(0.995);
    expect(summary.churn?.reason).toMatch(
      /^the target is trivially predictable on this log \(validation AUC 1\.0000\)/,
    );
    expect(scores.churn).toBeUndefined();
  });
});
