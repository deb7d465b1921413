/**
 * Metrics of a binary classifier's probabilities against 0/1 labels: ranking
 * quality (ROC AUC, PR AUC), decisions at a threshold, calibration, and the
 * lift a campaign gets by contacting the top decile.
 */
export interface ClassificationMetrics {
  readonly rows: number;
  readonly positives: number;
  readonly rocAuc: number;
  /** Average precision (the step-wise area under the precision-recall curve). */
  readonly prAuc: number;
  readonly threshold: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** Expected calibration error over 10 equal-width probability bins. */
  readonly calibrationError: number;
  readonly brier: number;
  /** Positive rate among the 10% highest scores divided by the overall positive rate. */
  readonly liftTop10: number;
}

/** Indices ordered by score, highest first (stable for ties). */
function byScoreDescending(scores: ArrayLike<number>): number[] {
  return Array.from({ length: scores.length }, (_, index) => index).sort(
    (a, b) => (scores[b] as number) - (scores[a] as number) || a - b,
  );
}

/** ROC AUC as the Mann-Whitney statistic; tied scores count one half. */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const order = Array.from({ length: scores.length }, (_, index) => index).sort(
    (a, b) => (scores[a] as number) - (scores[b] as number),
  );
  let positives = 0;
  let rankSum = 0;
  for (let start = 0; start < order.length;) {
    let end = start;
    while (end + 1 < order.length && scores[order[end + 1] as number] === scores[order[start] as number])
      end++;
    const averageRank = (start + end) / 2 + 1;
    for (let position = start; position <= end; position++) {
      if (labels[order[position] as number] === 1) {
        positives++;
        rankSum += averageRank;
      }
    }
    start = end + 1;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export function averagePrecision(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const order = byScoreDescending(scores);
  let positives = 0;
  for (let index = 0; index < labels.length; index++) positives += labels[index] === 1 ? 1 : 0;
  if (positives === 0) return Number.NaN;
  let hits = 0;
  let sum = 0;
  order.forEach((index, rank) => {
    if (labels[index] === 1) {
      hits++;
      sum += hits / (rank + 1);
    }
  });
  return sum / positives;
}

export function expectedCalibrationError(
  probabilities: ArrayLike<number>,
  labels: ArrayLike<number>,
  bins = 10,
): number {
  const count = new Float64Array(bins);
  const predicted = new Float64Array(bins);
  const observed = new Float64Array(bins);
  for (let index = 0; index < probabilities.length; index++) {
    const p = probabilities[index] as number;
    const bin = Math.min(bins - 1, Math.floor(p * bins));
    count[bin] = (count[bin] as number) + 1;
    predicted[bin] = (predicted[bin] as number) + p;
    observed[bin] = (observed[bin] as number) + (labels[index] as number);
  }
  let error = 0;
  for (let bin = 0; bin < bins; bin++) {
    if ((count[bin] as number) > 0) {
      error += Math.abs((predicted[bin] as number) - (observed[bin] as number));
    }
  }
  return error / Math.max(probabilities.length, 1);
}

/** Points of the reliability diagram: mean predicted vs observed rate per non-empty bin. */
export function calibrationCurve(
  probabilities: ArrayLike<number>,
  labels: ArrayLike<number>,
  bins = 10,
): { predicted: number; observed: number; count: number }[] {
  const points = Array.from({ length: bins }, () => ({ predicted: 0, observed: 0, count: 0 }));
  for (let index = 0; index < probabilities.length; index++) {
    const p = probabilities[index] as number;
    const point = points[Math.min(bins - 1, Math.floor(p * bins))] as (typeof points)[number];
    point.count++;
    point.predicted += p;
    point.observed += labels[index] as number;
  }
  return points
    .filter((point) => point.count > 0)
    .map((point) => ({
      predicted: point.predicted / point.count,
      observed: point.observed / point.count,
      count: point.count,
    }));
}

/** ROC curve points (false positive rate, true positive rate), at most `points` of them. */
export function rocCurve(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  points = 101,
): { fpr: number; tpr: number }[] {
  const order = byScoreDescending(scores);
  let positives = 0;
  for (let index = 0; index < labels.length; index++) positives += labels[index] === 1 ? 1 : 0;
  const negatives = labels.length - positives;
  const curve = [{ fpr: 0, tpr: 0 }];
  let truePositives = 0;
  let falsePositives = 0;
  const step = Math.max(1, Math.floor(order.length / (points - 1)));
  order.forEach((index, rank) => {
    if (labels[index] === 1) truePositives++;
    else falsePositives++;
    if ((rank + 1) % step === 0 || rank === order.length - 1) {
      curve.push({
        fpr: falsePositives / Math.max(negatives, 1),
        tpr: truePositives / Math.max(positives, 1),
      });
    }
  });
  return curve;
}

/** The threshold with the best F1 (candidates: every distinct probability). */
export function bestF1Threshold(probabilities: ArrayLike<number>, labels: ArrayLike<number>): number {
  const order = byScoreDescending(probabilities);
  let positives = 0;
  for (let index = 0; index < labels.length; index++) positives += labels[index] === 1 ? 1 : 0;
  let truePositives = 0;
  let best = { f1: -1, threshold: 0.5 };
  order.forEach((index, rank) => {
    if (labels[index] === 1) truePositives++;
    const next = order[rank + 1];
    if (next !== undefined && probabilities[next] === probabilities[index]) return;
    const precision = truePositives / (rank + 1);
    const recall = truePositives / Math.max(positives, 1);
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    if (f1 > best.f1) best = { f1, threshold: probabilities[index] as number };
  });
  return best.threshold;
}

export function classificationMetrics(
  probabilities: ArrayLike<number>,
  labels: ArrayLike<number>,
  threshold: number,
): ClassificationMetrics {
  let positives = 0;
  let truePositives = 0;
  let predictedPositives = 0;
  let brier = 0;
  for (let index = 0; index < labels.length; index++) {
    const label = labels[index] as number;
    const p = probabilities[index] as number;
    positives += label;
    if (p >= threshold) {
      predictedPositives++;
      truePositives += label;
    }
    brier += (p - label) ** 2;
  }
  const precision = predictedPositives > 0 ? truePositives / predictedPositives : 0;
  const recall = positives > 0 ? truePositives / positives : 0;
  const order = byScoreDescending(probabilities);
  const top = Math.max(1, Math.round(order.length / 10));
  let topPositives = 0;
  for (let rank = 0; rank < top; rank++) topPositives += labels[order[rank] as number] as number;
  const baseRate = positives / Math.max(labels.length, 1);
  return {
    rows: labels.length,
    positives,
    rocAuc: rocAuc(probabilities, labels),
    prAuc: averagePrecision(probabilities, labels),
    threshold,
    precision,
    recall,
    f1: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0,
    calibrationError: expectedCalibrationError(probabilities, labels),
    brier: brier / Math.max(labels.length, 1),
    liftTop10: baseRate > 0 ? topPositives / top / baseRate : Number.NaN,
  };
}
