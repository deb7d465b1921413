/**
 * The statistics of A/B test reports: normal and Student-t distributions,
 * two-proportion z-test, Welch's t-test, and sample size for a target lift.
 */

/** Complementary error function (Numerical Recipes' erfcc; fractional error < 1.2e-7). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/** Inverse of the standard normal CDF (Acklam's rational approximation, refined by one Newton step). */
export function normalQuantile(p: number): number {
  if (p <= 0 || p >= 1) throw new Error(`normalQuantile needs 0 < p < 1, got ${p}`);
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  // Horner evaluation of the rational approximation's polynomials.
  const poly = (coefficients: readonly number[], value: number) =>
    coefficients.reduce((sum, coefficient) => sum * value + coefficient, 0);
  const low = 0.02425;
  let x: number;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = poly(c, q) / poly([...d, 1], q);
  } else if (p <= 1 - low) {
    const q = p - 0.5;
    const r = q * q;
    x = (poly(a, r) * q) / poly([...b, 1], r);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -poly(c, q) / poly([...d, 1], q);
  }
  const error = normalCdf(x) - p;
  return x - error * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
}

function logGamma(x: number): number {
  const coefficients = [
    76.18009172947146, -86.50532032941677, 24.01409824083091, -1.231739572450155, 0.1208650973866179e-2,
    -0.5395239384953e-5,
  ];
  let y = x;
  const tmp = x + 5.5 - (x + 0.5) * Math.log(x + 5.5);
  let series = 1.000000000190015;
  for (const coefficient of coefficients) series += coefficient / ++y;
  return -tmp + Math.log((2.5066282746310005 * series) / x);
}

/** Continued fraction of the incomplete beta function (Numerical Recipes' betacf). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 3e-14) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2)
    ? (front * betaContinuedFraction(a, b, x)) / a
    : 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** Two-sided p-value of Student's t with `df` degrees of freedom. */
export function studentTwoSidedP(t: number, df: number): number {
  return incompleteBeta(df / (df + t * t), df / 2, 0.5);
}

/** The t value with two-sided tail probability `alpha` (bisection on the CDF). */
export function studentQuantile(alpha: number, df: number): number {
  let low = 0;
  let high = 1_000;
  for (let iteration = 0; iteration < 200; iteration++) {
    const mid = (low + high) / 2;
    if (studentTwoSidedP(mid, df) > alpha) low = mid;
    else high = mid;
  }
  return (low + high) / 2;
}

export interface Comparison {
  /** Treatment minus control, in the metric's units. */
  readonly difference: number;
  /** Difference relative to the control value (NaN when the control is 0). */
  readonly relativeLift: number;
  readonly ci95: readonly [number, number];
  readonly pValue: number;
  readonly statistic: number;
}

/** Two-proportion z-test (pooled standard error for the test, unpooled for the interval). */
export function twoProportionZTest(
  controlSuccesses: number,
  controlTrials: number,
  treatmentSuccesses: number,
  treatmentTrials: number,
): Comparison {
  const p1 = controlSuccesses / controlTrials;
  const p2 = treatmentSuccesses / treatmentTrials;
  const pooled = (controlSuccesses + treatmentSuccesses) / (controlTrials + treatmentTrials);
  const pooledSe = Math.sqrt(pooled * (1 - pooled) * (1 / controlTrials + 1 / treatmentTrials));
  const z = pooledSe > 0 ? (p2 - p1) / pooledSe : 0;
  const se = Math.sqrt((p1 * (1 - p1)) / controlTrials + (p2 * (1 - p2)) / treatmentTrials);
  const margin = normalQuantile(0.975) * se;
  return {
    difference: p2 - p1,
    relativeLift: p1 > 0 ? (p2 - p1) / p1 : Number.NaN,
    ci95: [p2 - p1 - margin, p2 - p1 + margin],
    pValue: 2 * (1 - normalCdf(Math.abs(z))),
    statistic: z,
  };
}

export interface SampleSummary {
  readonly n: number;
  readonly mean: number;
  /** Unbiased sample variance. */
  readonly variance: number;
}

export function summarise(values: readonly number[]): SampleSummary {
  const n = values.length;
  const mean = values.reduce((sum, value) => sum + value, 0) / Math.max(n, 1);
  const variance = n > 1 ? values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (n - 1) : 0;
  return { n, mean, variance };
}

/** Welch's unequal-variance t-test of treatment mean minus control mean. */
export function welchTTest(control: SampleSummary, treatment: SampleSummary): Comparison & { df: number } {
  const a = control.variance / control.n;
  const b = treatment.variance / treatment.n;
  const se = Math.sqrt(a + b);
  const difference = treatment.mean - control.mean;
  const df = (a + b) ** 2 / ((a * a) / Math.max(control.n - 1, 1) + (b * b) / Math.max(treatment.n - 1, 1));
  if (!(se > 0) || !Number.isFinite(df)) {
    return {
      difference,
      relativeLift: Number.NaN,
      ci95: [difference, difference],
      pValue: Number.NaN,
      statistic: Number.NaN,
      df: Number.NaN,
    };
  }
  const t = difference / se;
  const margin = studentQuantile(0.05, df) * se;
  return {
    difference,
    relativeLift: control.mean !== 0 ? difference / control.mean : Number.NaN,
    ci95: [difference - margin, difference + margin],
    pValue: studentTwoSidedP(t, df),
    statistic: t,
    df,
  };
}

/** Users per variant to detect a rate moving from p1 to p2 (two-sided α, power 1-β). */
export function sampleSizePerVariant(p1: number, p2: number, alpha = 0.05, power = 0.8): number {
  const zAlpha = normalQuantile(1 - alpha / 2);
  const zBeta = normalQuantile(power);
  const mean = (p1 + p2) / 2;
  const numerator =
    zAlpha * Math.sqrt(2 * mean * (1 - mean)) + zBeta * Math.sqrt(p1 * (1 - p1) + p2 * (1 - p2));
  return Math.ceil((numerator * numerator) / (p2 - p1) ** 2);
}
