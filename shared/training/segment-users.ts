import { csvLine } from '../data/formats';
import type { InteractionLog } from '../ml/interactions';
import { profileSegments, segmentPoints, type UserFacts } from '../marketing/segments';
import type { SegmentsArtifact } from '../contracts/artifacts';

/** One curated interaction, as much as segmentation needs. */
export interface FactRow {
  readonly user_id: string;
  readonly item_id: string;
  readonly timestamp: number;
  readonly event_type: string;
  readonly event_value: number | null;
}

export interface UserSegmentation {
  readonly artifact: SegmentsArtifact;
  /** Segment of each user, aligned with the log's user indices. */
  readonly assignments: Int32Array;
  readonly facts: UserFacts[];
}

/** RFM and behaviour facts per user (aligned with `log.userIds`). */
export function userFacts(
  log: InteractionLog,
  rows: readonly FactRow[],
  /** The item's categories (each value of a list attribute such as genres). */
  categoryOf: (itemId: string) => readonly string[],
): UserFacts[] {
  const latest = rows.reduce((max, row) => Math.max(max, row.timestamp), Number.NEGATIVE_INFINITY);
  const index = new Map(log.userIds.map((userId, position) => [userId, position]));
  const facts = log.userIds.map((userId) => ({
    userId,
    last: Number.NEGATIVE_INFINITY,
    frequency: 0,
    monetary: 0,
    eventCounts: {} as Record<string, number>,
    categoryCounts: {} as Record<string, number>,
    itemCounts: {} as Record<string, number>,
  }));
  for (const row of rows) {
    const fact = facts[index.get(row.user_id) ?? -1];
    if (!fact) continue;
    fact.last = Math.max(fact.last, row.timestamp);
    fact.frequency++;
    if (row.event_type === 'purchase') fact.monetary += row.event_value ?? 0;
    fact.eventCounts[row.event_type] = (fact.eventCounts[row.event_type] ?? 0) + 1;
    fact.itemCounts[row.item_id] = (fact.itemCounts[row.item_id] ?? 0) + 1;
    for (const category of categoryOf(row.item_id))
      fact.categoryCounts[category] = (fact.categoryCounts[category] ?? 0) + 1;
  }
  return facts.map(({ last, ...fact }) => ({
    ...fact,
    monetary: Number(fact.monetary.toFixed(2)),
    recencyDays: Number(((latest - last) / 86_400).toFixed(2)),
  }));
}

const MAX_FIT_POINTS = 20_000;

/**
 * Clusters users on their unit-length embedding plus log-RFM z-scores (the RFM
 * block scaled to the embedding's total variance), k by silhouette in 3..8.
 */
export function segmentUsers(
  vectors: Float32Array,
  dims: number,
  facts: UserFacts[],
  seed: number,
  k?: number,
): UserSegmentation {
  const n = facts.length;
  const rfmDims = 3;
  const width = dims + rfmDims;
  const rfm = facts.map((fact) => [
    Math.log1p(fact.recencyDays),
    Math.log1p(fact.frequency),
    Math.log1p(fact.monetary),
  ]);
  const stats = [0, 1, 2].map((column) => {
    const values = rfm.map((row) => row[column] as number);
    const mean = values.reduce((sum, value) => sum + value, 0) / Math.max(n, 1);
    const sd = Math.sqrt(values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / Math.max(n, 1)) || 1;
    return { mean, sd };
  });
  const points = new Float32Array(n * width);
  for (let user = 0; user < n; user++) {
    let norm = 0;
    for (let dimension = 0; dimension < dims; dimension++)
      norm += (vectors[user * dims + dimension] as number) ** 2;
    const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let dimension = 0; dimension < dims; dimension++) {
      points[user * width + dimension] = (vectors[user * dims + dimension] as number) * scale;
    }
    for (let column = 0; column < rfmDims; column++) {
      const { mean, sd } = stats[column] as { mean: number; sd: number };
      points[user * width + dims + column] =
        (((rfm[user] as number[])[column] as number) - mean) / sd / Math.sqrt(rfmDims);
    }
  }
  // Fit on a sample when there are many users, then assign everyone to the nearest centroid.
  const fitPoints = n > MAX_FIT_POINTS ? points.subarray(0, MAX_FIT_POINTS * width) : points;
  const fitted = segmentPoints(fitPoints, width, { seed, ...(k !== undefined ? { k } : {}) });
  let assignments = fitted.assignments;
  if (n > MAX_FIT_POINTS) {
    assignments = new Int32Array(n);
    for (let user = 0; user < n; user++) {
      let best = 0;
      let bestDistance = Number.POSITIVE_INFINITY;
      for (let cluster = 0; cluster < fitted.k; cluster++) {
        let distance = 0;
        for (let dimension = 0; dimension < width; dimension++) {
          distance +=
            ((points[user * width + dimension] as number) -
              (fitted.centroids[cluster * width + dimension] as number)) **
            2;
        }
        if (distance < bestDistance) {
          bestDistance = distance;
          best = cluster;
        }
      }
      assignments[user] = best;
    }
  }
  return {
    artifact: {
      projection: projectUsers(points, width, assignments, 2_000),
      k: fitted.k,
      silhouettes: fitted.silhouettes,
      features: `unit-length user embedding (${dims}) + log-RFM z-scores scaled by 1/sqrt(3)`,
      profiles: profileSegments(facts, assignments, fitted.k),
    },
    assignments,
    facts,
  };
}

/** One campaign-ready CSV per segment. */
export function segmentExportCsv(segmentation: UserSegmentation, segment: number): string {
  const lines = ['user_id,segment,recency_days,frequency,monetary,top_category'];
  segmentation.facts.forEach((fact, user) => {
    if (segmentation.assignments[user] !== segment) return;
    const topCategory =
      Object.entries(fact.categoryCounts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0] ??
      '';
    lines.push(
      csvLine([fact.userId, `S${segment + 1}`, fact.recencyDays, fact.frequency, fact.monetary, topCategory]),
    );
  });
  return `${lines.join('\n')}\n`;
}

/** Top-2 principal components by power iteration (with deflation), applied to an even sample of users. */
export function projectUsers(
  points: Float32Array,
  width: number,
  assignments: Int32Array,
  maxPoints: number,
): [number, number, number][] {
  const n = points.length / width;
  if (n === 0) return [];
  const mean = new Float64Array(width);
  for (let user = 0; user < n; user++) {
    for (let dimension = 0; dimension < width; dimension++) {
      mean[dimension] = (mean[dimension] as number) + (points[user * width + dimension] as number) / n;
    }
  }
  const covariance = new Float64Array(width * width);
  for (let user = 0; user < n; user++) {
    for (let a = 0; a < width; a++) {
      const da = (points[user * width + a] as number) - (mean[a] as number);
      for (let b = a; b < width; b++) {
        covariance[a * width + b] =
          (covariance[a * width + b] as number) +
          (da * ((points[user * width + b] as number) - (mean[b] as number))) / n;
      }
    }
  }
  for (let a = 0; a < width; a++)
    for (let b = 0; b < a; b++) covariance[a * width + b] = covariance[b * width + a] as number;
  const components: Float64Array[] = [];
  for (let component = 0; component < 2; component++) {
    let vector = Float64Array.from({ length: width }, (_, index) => 1 / Math.sqrt(width) + index * 1e-3);
    for (let iteration = 0; iteration < 200; iteration++) {
      const next = new Float64Array(width);
      for (let a = 0; a < width; a++) {
        let sum = 0;
        for (let b = 0; b < width; b++) sum += (covariance[a * width + b] as number) * (vector[b] as number);
        next[a] = sum;
      }
      for (const previous of components) {
        let dot = 0;
        for (let a = 0; a < width; a++) dot += (next[a] as number) * (previous[a] as number);
        for (let a = 0; a < width; a++) next[a] = (next[a] as number) - dot * (previous[a] as number);
      }
      const norm = Math.sqrt(next.reduce((sum, value) => sum + value * value, 0)) || 1;
      vector = next.map((value) => value / norm);
    }
    components.push(vector);
  }
  const step = Math.max(1, Math.ceil(n / maxPoints));
  const projected: [number, number, number][] = [];
  for (let user = 0; user < n; user += step) {
    const coordinates = components.map((component) => {
      let sum = 0;
      for (let dimension = 0; dimension < width; dimension++) {
        sum +=
          ((points[user * width + dimension] as number) - (mean[dimension] as number)) *
          (component[dimension] as number);
      }
      return Number(sum.toFixed(4));
    });
    projected.push([coordinates[0] as number, coordinates[1] as number, assignments[user] as number]);
  }
  return projected;
}
