import { qualityGate } from '../../../shared/training/quality-gate';

describe('qualityGate', () => {
  const gate = { minLiftOverPopularity: 0.1, maxRegression: 0.005 };

  it('promotes a first model that beats popularity by the margin', () => {
    expect(qualityGate(0.1, 0.05, undefined, gate)).toEqual({
      promote: true,
      reasons: [
        'beats popularity: NDCG@10 0.1000 vs required 0.0550 (popularity 0.0500 + 10%)',
        'no model is in production yet',
      ],
    });
  });

  it('refuses a model that does not beat popularity by the margin', () => {
    expect(qualityGate(0.054, 0.05, undefined, gate).promote).toBe(false);
  });

  it('refuses a model worse than production beyond the tolerance, accepts one within it', () => {
    const worse = qualityGate(0.09, 0.05, 0.1, gate);
    expect(worse.promote).toBe(false);
    expect(worse.reasons[1]).toBe(
      'beyond tolerance of production: NDCG@10 0.0900 vs 0.1000 (tolerance 0.005)',
    );
    expect(qualityGate(0.096, 0.05, 0.1, gate).promote).toBe(true);
  });
});
