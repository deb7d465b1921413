/**
 * How well a ranking of customers by predicted uplift finds the ones the campaign moves, measured on a
 * randomized campaign's held-out rows (each row: treated or control, and its outcome):
 *
 * - **Qini curve**: after targeting the top k, the treated outcome total minus the control total scaled to
 *   the treated count, Q(k) = Y_T(k) − Y_C(k)·N_T(k)/N_C(k) — the extra outcome the campaign bought.
 * - **Uplift curve**: (Y_T(k)/N_T(k) − Y_C(k)/N_C(k))·k — the same in per-customer rates.
 * - **Qini coefficient / AUUC**: the area between the curve and random targeting (the straight line to the
 *   curve's end), divided by that of the perfect ranking (scikit-uplift's normalised `qini_auc_score` and
 *   `uplift_auc_score`): 0 is random, 1 perfect, negative worse than random.
 */

export interface UpliftSample {
  readonly treated: Uint8Array;
  readonly outcome: Float64Array;
}

export interface CurvePoint {
  /** Share of customers targeted (0-1). */
  readonly share: number;
  readonly value: number;
}

export interface UpliftDecile {
  /** 1 = the tenth with the highest predicted uplift. */
  readonly decile: number;
  readonly treated: number;
  readonly control: number;
  /** Mean outcome (conversion rate for binary outcomes) among treated / control rows of the decile. */
  readonly treatedRate: number;
  readonly controlRate: number;
  readonly observedUplift: number;
  readonly predictedUplift: number;
}

/** Row indices ordered by score, highest first (ties in row order). */
function rankOrder(scores: ArrayLike<number>): Uint32Array {
  const order = Uint32Array.from({ length: scores.length }, (_, index) => index);
  order.sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b);
  return order;
}

/** Running treated/control counts and outcome sums over the rows added so far: what both curves and the deciles read. */
class ArmSums {
  treated = 0;
  control = 0;
  treatedOutcome = 0;
  controlOutcome = 0;

  constructor(private readonly sample: UpliftSample) {}

  add(row: number): void {
    if (this.sample.treated[row]) {
      this.treated++;
      this.treatedOutcome += this.sample.outcome[row] as number;
    } else {
      this.control++;
      this.controlOutcome += this.sample.outcome[row] as number;
    }
  }
}

/** Cumulative curve values after each targeted customer (index k = k+1 customers), for one ordering. */
function cumulative(order: ArrayLike<number>, sample: UpliftSample, kind: 'qini' | 'uplift'): Float64Array {
  const values = new Float64Array(order.length + 1);
  const sums = new ArmSums(sample);
  for (let k = 0; k < order.length; k++) {
    sums.add(order[k] as number);
    const { treated: nT, control: nC, treatedOutcome: yT, controlOutcome: yC } = sums;
    if (kind === 'qini') values[k + 1] = yT - (nC > 0 ? (yC * nT) / nC : 0);
    else values[k + 1] = ((nT > 0 ? yT / nT : 0) - (nC > 0 ? yC / nC : 0)) * (k + 1);
  }
  return values;
}

/** Area under a curve sampled at every k, minus the random line's (from 0 to the curve's end). */
function areaAboveRandom(values: Float64Array): number {
  const n = values.length - 1;
  if (n <= 0) return 0;
  let area = 0;
  for (let k = 1; k <= n; k++) area += ((values[k - 1] as number) + (values[k] as number)) / 2;
  return area - ((values[n] as number) * n) / 2;
}

/** The best possible ordering: treated rows by outcome descending, then control rows by outcome ascending. */
function perfectOrder(sample: UpliftSample): Uint32Array {
  const signed = Float64Array.from(sample.outcome, (y, row) => (sample.treated[row] ? y : -y));
  // Treated non-responders before control non-responders: both 0, the treated ones first.
  const tieBreak = Float64Array.from(signed, (value, row) => value + (sample.treated[row] ? 1e-9 : 0));
  return rankOrder(tieBreak);
}

function normalisedArea(scores: ArrayLike<number>, sample: UpliftSample, kind: 'qini' | 'uplift'): number {
  const model = areaAboveRandom(cumulative(rankOrder(scores), sample, kind));
  const perfect = areaAboveRandom(cumulative(perfectOrder(sample), sample, kind));
  return perfect > 0 ? model / perfect : 0;
}

/** Normalised Qini coefficient of a ranking (0 random, 1 perfect). */
export function qiniCoefficient(scores: ArrayLike<number>, sample: UpliftSample): number {
  return normalisedArea(scores, sample, 'qini');
}

/** Normalised area under the uplift curve (0 random, 1 perfect). */
export function areaUnderUpliftCurve(scores: ArrayLike<number>, sample: UpliftSample): number {
  return normalisedArea(scores, sample, 'uplift');
}

/** The Qini curve at `points` evenly spaced shares (for plots), in outcome units per targeted customer base. */
export function qiniCurve(scores: ArrayLike<number>, sample: UpliftSample, points = 50): CurvePoint[] {
  const values = cumulative(rankOrder(scores), sample, 'qini');
  const n = values.length - 1;
  return Array.from({ length: points + 1 }, (_, index) => {
    const k = Math.round((index / points) * n);
    return { share: n > 0 ? k / n : 0, value: values[k] as number };
  });
}

/** Observed treated vs control outcome per tenth of predicted uplift, highest first. */
export function upliftDeciles(scores: ArrayLike<number>, sample: UpliftSample): UpliftDecile[] {
  const order = rankOrder(scores);
  const n = order.length;
  return Array.from({ length: 10 }, (_, decile) => {
    const start = Math.floor((decile * n) / 10);
    const end = Math.floor(((decile + 1) * n) / 10);
    const sums = new ArmSums(sample);
    let predicted = 0;
    for (let k = start; k < end; k++) {
      const row = order[k] as number;
      predicted += scores[row] as number;
      sums.add(row);
    }
    const { treated: nT, control: nC, treatedOutcome: yT, controlOutcome: yC } = sums;
    const treatedRate = nT > 0 ? yT / nT : Number.NaN;
    const controlRate = nC > 0 ? yC / nC : Number.NaN;
    return {
      decile: decile + 1,
      treated: nT,
      control: nC,
      treatedRate,
      controlRate,
      observedUplift: treatedRate - controlRate,
      predictedUplift: end > start ? predicted / (end - start) : Number.NaN,
    };
  });
}
