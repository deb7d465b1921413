/**
 * Ranking metrics for leave-one-out evaluation (one relevant item per user).
 * With a single relevant item at 1-based rank r: HR@k = NDCG@k numerator hit,
 * NDCG@k = 1/log2(r+1), precision@k = 1/k, recall@k = 1, AP@k = 1/r, RR = 1/r
 * when r <= k (RR has no cut-off), else 0.
 */
export interface RankingMetrics {
  readonly users: number;
  readonly hr10: number;
  readonly ndcg10: number;
  readonly precision10: number;
  readonly recall10: number;
  readonly map10: number;
  readonly mrr: number;
  /** Share of the catalogue that appears in at least one user's top 10. */
  readonly coverage10: number;
}

export class RankingAccumulator {
  private users = 0;
  private hits = 0;
  private ndcg = 0;
  private ap = 0;
  private rr = 0;
  private readonly recommended = new Set<number>();

  constructor(
    private readonly k: number,
    private readonly catalogueSize: number,
  ) {}

  /** Adds one user: the 1-based rank of the test item and the user's top-k list. */
  add(rank: number, topK: ArrayLike<number> = []): void {
    this.users++;
    this.rr += 1 / rank;
    if (rank <= this.k) {
      this.hits++;
      this.ndcg += 1 / Math.log2(rank + 1);
      this.ap += 1 / rank;
    }
    for (let index = 0; index < topK.length; index++) this.recommended.add(topK[index] as number);
  }

  result(): RankingMetrics {
    const n = Math.max(this.users, 1);
    return {
      users: this.users,
      hr10: this.hits / n,
      ndcg10: this.ndcg / n,
      precision10: this.hits / n / this.k,
      recall10: this.hits / n,
      map10: this.ap / n,
      mrr: this.rr / n,
      coverage10: this.recommended.size / Math.max(this.catalogueSize, 1),
    };
  }
}

/** Log loss with probabilities clipped to [1e-7, 1 − 1e-7]. */
export function logLoss(probabilities: ArrayLike<number>, labels: ArrayLike<number>): number {
  let sum = 0;
  for (let index = 0; index < labels.length; index++) {
    const p = Math.min(1 - 1e-7, Math.max(1e-7, probabilities[index] as number));
    sum -= labels[index] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return sum / Math.max(labels.length, 1);
}
