import { SeededRandom } from '../data/random';
import type { SegmentProfile } from '../contracts/artifacts';

/**
 * Customer segments: k-means (k-means++ seeding, Lloyd iterations) over each
 * user's embedding plus standardised RFM features, k chosen by silhouette in a
 * range, deterministic by seed; then a profile and a short description per
 * segment for marketers.
 */
export interface KMeansResult {
  readonly k: number;
  /** k × dims, row-major. */
  readonly centroids: Float64Array;
  readonly assignments: Int32Array;
  readonly inertia: number;
  readonly iterations: number;
}

function squaredDistance(
  points: Float32Array,
  point: number,
  centroids: Float64Array,
  centroid: number,
  dims: number,
): number {
  let sum = 0;
  for (let dimension = 0; dimension < dims; dimension++) {
    const delta =
      (points[point * dims + dimension] as number) - (centroids[centroid * dims + dimension] as number);
    sum += delta * delta;
  }
  return sum;
}

/** Nearest centroid of each point (and the squared distance to it). */
export function assign(
  points: Float32Array,
  dims: number,
  centroids: Float64Array,
  k: number,
): { assignments: Int32Array; inertia: number } {
  const n = points.length / dims;
  const assignments = new Int32Array(n);
  let inertia = 0;
  for (let point = 0; point < n; point++) {
    let best = 0;
    let bestDistance = Number.POSITIVE_INFINITY;
    for (let centroid = 0; centroid < k; centroid++) {
      const distance = squaredDistance(points, point, centroids, centroid, dims);
      if (distance < bestDistance) {
        bestDistance = distance;
        best = centroid;
      }
    }
    assignments[point] = best;
    inertia += bestDistance;
  }
  return { assignments, inertia };
}

export function kMeans(
  points: Float32Array,
  dims: number,
  k: number,
  seed: number,
  maxIterations = 100,
): KMeansResult {
  const n = points.length / dims;
  if (!Number.isInteger(n) || n < k) throw new Error(`k-means needs at least k=${k} points, got ${n}`);
  const random = new SeededRandom(seed);
  const centroids = new Float64Array(k * dims);
  // k-means++: each next centroid drawn with probability proportional to squared distance.
  const first = random.int(n);
  for (let dimension = 0; dimension < dims; dimension++)
    centroids[dimension] = points[first * dims + dimension] as number;
  const nearest = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  for (let chosen = 1; chosen < k; chosen++) {
    let total = 0;
    for (let point = 0; point < n; point++) {
      nearest[point] = Math.min(
        nearest[point] as number,
        squaredDistance(points, point, centroids, chosen - 1, dims),
      );
      total += nearest[point] as number;
    }
    let target = random.next() * total;
    let pick = n - 1;
    for (let point = 0; point < n; point++) {
      target -= nearest[point] as number;
      if (target <= 0) {
        pick = point;
        break;
      }
    }
    for (let dimension = 0; dimension < dims; dimension++) {
      centroids[chosen * dims + dimension] = points[pick * dims + dimension] as number;
    }
  }
  let { assignments, inertia } = assign(points, dims, centroids, k);
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    const sums = new Float64Array(k * dims);
    const counts = new Int32Array(k);
    for (let point = 0; point < n; point++) {
      const cluster = assignments[point] as number;
      counts[cluster] = (counts[cluster] as number) + 1;
      for (let dimension = 0; dimension < dims; dimension++) {
        sums[cluster * dims + dimension] =
          (sums[cluster * dims + dimension] as number) + (points[point * dims + dimension] as number);
      }
    }
    for (let cluster = 0; cluster < k; cluster++) {
      // An emptied cluster keeps its centroid (it may win points back).
      if ((counts[cluster] as number) === 0) continue;
      for (let dimension = 0; dimension < dims; dimension++) {
        centroids[cluster * dims + dimension] =
          (sums[cluster * dims + dimension] as number) / (counts[cluster] as number);
      }
    }
    const next = assign(points, dims, centroids, k);
    const changed = next.assignments.some((cluster, point) => cluster !== assignments[point]);
    assignments = next.assignments;
    inertia = next.inertia;
    if (!changed) break;
  }
  return { k, centroids, assignments, inertia, iterations };
}

/** Mean silhouette over (a sample of) the points: how well each sits in its own cluster vs the next one. */
export function silhouette(
  points: Float32Array,
  dims: number,
  assignments: Int32Array,
  k: number,
  sample: readonly number[],
): number {
  let total = 0;
  let counted = 0;
  for (const point of sample) {
    const sums = new Float64Array(k);
    const counts = new Int32Array(k);
    for (const other of sample) {
      if (other === point) continue;
      let distance = 0;
      for (let dimension = 0; dimension < dims; dimension++) {
        const delta =
          (points[point * dims + dimension] as number) - (points[other * dims + dimension] as number);
        distance += delta * delta;
      }
      const cluster = assignments[other] as number;
      sums[cluster] = (sums[cluster] as number) + Math.sqrt(distance);
      counts[cluster] = (counts[cluster] as number) + 1;
    }
    const own = assignments[point] as number;
    if ((counts[own] as number) === 0) continue;
    const a = (sums[own] as number) / (counts[own] as number);
    let b = Number.POSITIVE_INFINITY;
    for (let cluster = 0; cluster < k; cluster++) {
      if (cluster !== own && (counts[cluster] as number) > 0)
        b = Math.min(b, (sums[cluster] as number) / (counts[cluster] as number));
    }
    if (!Number.isFinite(b)) continue;
    total += (b - a) / Math.max(a, b);
    counted++;
  }
  return counted > 0 ? total / counted : 0;
}

export interface SegmentationOptions {
  readonly seed: number;
  /** Fixed k, or the range silhouette chooses from. */
  readonly k?: number;
  readonly kRange?: readonly [number, number];
  /** Points the silhouette is computed on (it is quadratic). @default 1500 */
  readonly silhouetteSample?: number;
}

export interface Segmentation extends KMeansResult {
  /** Silhouette per candidate k (empty when k was fixed). */
  readonly silhouettes: Record<string, number>;
}

export function segmentPoints(
  points: Float32Array,
  dims: number,
  options: SegmentationOptions,
): Segmentation {
  const n = points.length / dims;
  if (options.k !== undefined)
    return { ...kMeans(points, dims, Math.min(options.k, n), options.seed), silhouettes: {} };
  const [low, high] = options.kRange ?? [3, 8];
  const random = new SeededRandom(options.seed + 1);
  const sampleSize = Math.min(n, options.silhouetteSample ?? 1500);
  const order = Array.from({ length: n }, (_, point) => point);
  random.shuffle(order);
  const sample = order.slice(0, sampleSize);
  const silhouettes: Record<string, number> = {};
  let best: (KMeansResult & { score: number }) | undefined;
  for (let k = low; k <= Math.min(high, n - 1); k++) {
    const result = kMeans(points, dims, k, options.seed);
    const score = silhouette(points, dims, result.assignments, k, sample);
    silhouettes[String(k)] = Number(score.toFixed(4));
    if (!best || score > best.score) best = { ...result, score };
  }
  if (!best) return { ...kMeans(points, dims, Math.min(low, n), options.seed), silhouettes };
  const { score: _score, ...result } = best;
  return { ...result, silhouettes };
}

/** Per-user facts a profile summarises. */
export interface UserFacts {
  readonly userId: string;
  readonly recencyDays: number;
  readonly frequency: number;
  readonly monetary: number;
  readonly eventCounts: Record<string, number>;
  readonly categoryCounts: Record<string, number>;
  readonly itemCounts: Record<string, number>;
}

const ROLE: Record<string, string> = {
  purchase: 'buyers',
  add_to_cart: 'cart builders',
  view: 'browsers',
  rating: 'raters',
};

function summary(values: number[]): { mean: number; median: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = values.reduce((sum, value) => sum + value, 0) / Math.max(values.length, 1);
  return {
    mean: Number(mean.toFixed(2)),
    median: Number((sorted[Math.floor(sorted.length / 2)] ?? 0).toFixed(2)),
  };
}

function top(counts: Map<string, number>, limit: number): [string, number][] {
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, limit);
}

/** A category a segment is known for: the highest lift among those with at least 5% of its counts. */
const DISTINCTIVE_MIN_SHARE = 0.05;

function distinctiveCategory(
  categories: Map<string, number>,
  total: number,
  liftOf: (category: string, share: number) => number,
): string | undefined {
  let best: { category: string; lift: number } | undefined;
  for (const [category, count] of categories) {
    const share = count / Math.max(total, 1);
    if (share < DISTINCTIVE_MIN_SHARE) continue;
    const lift = liftOf(category, share);
    if (!best || lift > best.lift || (lift === best.lift && category < best.category))
      best = { category, lift };
  }
  return best?.category ?? top(categories, 1)[0]?.[0];
}

/** Profiles and plain-language descriptions ("frequent high-spend buyers of electronics"). */
export function profileSegments(
  users: readonly UserFacts[],
  assignments: Int32Array,
  k: number,
): SegmentProfile[] {
  const overall = {
    recency: summary(users.map((user) => user.recencyDays)).mean,
    frequency: summary(users.map((user) => user.frequency)).mean,
    monetary: summary(users.map((user) => user.monetary)).mean,
  };
  // Overall category shares: a segment is described by what it over-indexes on, not by what everyone watches.
  const overallCategories = new Map<string, number>();
  for (const user of users)
    for (const [category, count] of Object.entries(user.categoryCounts))
      overallCategories.set(category, (overallCategories.get(category) ?? 0) + count);
  const overallCategoryTotal = [...overallCategories.values()].reduce((sum, count) => sum + count, 0);
  const liftOf = (category: string, share: number) =>
    share / Math.max((overallCategories.get(category) ?? 0) / Math.max(overallCategoryTotal, 1), 1e-9);
  const profiles: SegmentProfile[] = [];
  for (let segment = 0; segment < k; segment++) {
    const members = users.filter((_, index) => assignments[index] === segment);
    if (members.length === 0) continue;
    const categories = new Map<string, number>();
    const items = new Map<string, number>();
    const events = new Map<string, number>();
    for (const member of members) {
      for (const [category, count] of Object.entries(member.categoryCounts))
        categories.set(category, (categories.get(category) ?? 0) + count);
      for (const [item, count] of Object.entries(member.itemCounts))
        items.set(item, (items.get(item) ?? 0) + count);
      for (const [type, count] of Object.entries(member.eventCounts))
        events.set(type, (events.get(type) ?? 0) + count);
    }
    const categoryTotal = [...categories.values()].reduce((sum, count) => sum + count, 0);
    const eventTotal = [...events.values()].reduce((sum, count) => sum + count, 0);
    const rfm = {
      recencyDays: summary(members.map((member) => member.recencyDays)),
      frequency: summary(members.map((member) => member.frequency)),
      monetary: summary(members.map((member) => member.monetary)),
    };
    const frequencyTier =
      rfm.frequency.mean >= 1.5 * overall.frequency
        ? 'frequent'
        : rfm.frequency.mean <= 0.6 * overall.frequency
          ? 'occasional'
          : 'regular';
    const spendTier =
      overall.monetary <= 0
        ? ''
        : rfm.monetary.mean >= 1.5 * overall.monetary
          ? 'high-spend '
          : rfm.monetary.mean <= 0.5 * overall.monetary
            ? 'low-spend '
            : '';
    const lapsed = rfm.recencyDays.mean >= 2 * Math.max(overall.recency, 1) ? 'lapsed ' : '';
    const commerce = ['purchase', 'add_to_cart', 'view'].filter((type) => events.has(type));
    const dominant =
      commerce.includes('purchase') && (events.get('purchase') ?? 0) > 0 && rfm.monetary.mean > 0
        ? 'purchase'
        : (top(events, 1)[0]?.[0] ?? 'interaction');
    const role = ROLE[dominant] ?? 'users';
    const topCategory = distinctiveCategory(categories, categoryTotal, liftOf);
    const subject = topCategory
      ? `of ${topCategory}`
      : `of items like ${top(items, 2)
          .map(([item]) => item)
          .join(', ')}`;
    const description = `${lapsed}${frequencyTier} ${spendTier}${role} ${subject}`;
    profiles.push({
      segment,
      name: `S${segment + 1}`,
      description,
      size: members.length,
      share: Number((members.length / users.length).toFixed(4)),
      rfm,
      topCategories: top(categories, 3).map(([category, count]) => ({
        category,
        share: Number((count / Math.max(categoryTotal, 1)).toFixed(3)),
        lift: Number(liftOf(category, count / Math.max(categoryTotal, 1)).toFixed(2)),
      })),
      topItems: top(items, 5).map(([itemId, count]) => ({ itemId, count })),
      behaviour: Object.fromEntries(
        top(events, 10).map(([type, count]) => [type, Number((count / Math.max(eventTotal, 1)).toFixed(3))]),
      ),
    });
  }
  return profiles;
}
