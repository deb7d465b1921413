/**
 * Decides whether a newly trained model replaces the one being served. A failed
 * or worse run never replaces the serving model.
 */
export interface GateConfig {
  /** The model must beat popularity's NDCG@10 by this relative margin (0.1 = 10%). */
  readonly minLiftOverPopularity: number;
  /** It may be at most this much (absolute NDCG@10) worse than the current production model. */
  readonly maxRegression: number;
}

export const DEFAULT_GATE: GateConfig = { minLiftOverPopularity: 0.1, maxRegression: 0.005 };

export interface GateDecision {
  readonly promote: boolean;
  readonly reasons: string[];
}

export function qualityGate(
  candidateNdcg: number,
  popularityNdcg: number,
  productionNdcg: number | undefined,
  config: GateConfig = DEFAULT_GATE,
): GateDecision {
  const reasons: string[] = [];
  const required = popularityNdcg * (1 + config.minLiftOverPopularity);
  const beatsPopularity = candidateNdcg >= required;
  reasons.push(
    `${beatsPopularity ? 'beats' : 'does not beat'} popularity: NDCG@10 ${candidateNdcg.toFixed(4)} vs required ${required.toFixed(4)} (popularity ${popularityNdcg.toFixed(4)} + ${(config.minLiftOverPopularity * 100).toFixed(0)}%)`,
  );
  let keepsQuality = true;
  if (productionNdcg === undefined) {
    reasons.push('no model is in production yet');
  } else {
    keepsQuality = candidateNdcg >= productionNdcg - config.maxRegression;
    reasons.push(
      `${keepsQuality ? 'within' : 'beyond'} tolerance of production: NDCG@10 ${candidateNdcg.toFixed(4)} vs ${productionNdcg.toFixed(4)} (tolerance ${config.maxRegression})`,
    );
  }
  return { promote: beatsPopularity && keepsQuality, reasons };
}
