import { kMeans, profileSegments, segmentPoints, type UserFacts } from '../../../shared/marketing/segments';
import { SeededRandom } from '../../../shared/data/random';

/** Three tight, well separated blobs in 2-D; returns points and the blob of each. */
function blobs(perBlob: number, seed: number): { points: Float32Array; truth: number[] } {
  const random = new SeededRandom(seed);
  const centres = [
    [0, 0],
    [10, 0],
    [0, 10],
  ];
  const points = new Float32Array(perBlob * 3 * 2);
  const truth: number[] = [];
  for (let index = 0; index < perBlob * 3; index++) {
    const blob = index % 3;
    const [x, y] = centres[blob] as [number, number];
    points[index * 2] = x + random.normal() * 0.5;
    points[index * 2 + 1] = y + random.normal() * 0.5;
    truth.push(blob);
  }
  return { points, truth };
}

function facts(
  userId: string,
  frequency: number,
  monetary: number,
  category: string,
  recencyDays = 5,
): UserFacts {
  return {
    userId,
    recencyDays,
    frequency,
    monetary,
    eventCounts: { purchase: Math.ceil(frequency / 3), view: frequency },
    categoryCounts: { [category]: frequency },
    itemCounts: { [`${category}-1`]: frequency },
  };
}

describe('customer segmentation', () => {
  it('recovers well separated clusters exactly, deterministically by seed', () => {
    const { points, truth } = blobs(50, 1);
    const result = kMeans(points, 2, 3, 42);
    // Same partition as the truth, up to renaming clusters.
    const mapping = new Map<number, number>();
    result.assignments.forEach((cluster, index) => {
      const blob = truth[index] as number;
      if (!mapping.has(cluster)) mapping.set(cluster, blob);
      expect(mapping.get(cluster)).toBe(blob);
    });
    expect(mapping.size).toBe(3);
    expect(Array.from(kMeans(points, 2, 3, 42).assignments)).toEqual(Array.from(result.assignments));
  });

  it('chooses k by silhouette', () => {
    const { points } = blobs(40, 2);
    const result = segmentPoints(points, 2, { seed: 7, kRange: [2, 6] });
    expect(result.k).toBe(3);
    expect(result.silhouettes['3']).toBeGreaterThan(0.8);
    expect(Object.keys(result.silhouettes)).toEqual(['2', '3', '4', '5', '6']);
  });

  it('profiles each segment and describes it in marketing terms', () => {
    const users = [
      facts('a', 30, 900, 'electronics'),
      facts('b', 28, 800, 'electronics'),
      facts('c', 3, 20, 'garden', 90),
      facts('d', 2, 10, 'garden', 80),
      facts('e', 8, 100, 'books'),
      facts('f', 9, 120, 'books'),
    ];
    const profiles = profileSegments(users, Int32Array.of(0, 0, 1, 1, 2, 2), 3);
    expect(profiles.map((profile) => profile.description)).toEqual([
      'frequent high-spend buyers of electronics',
      'lapsed occasional low-spend buyers of garden',
      'regular low-spend buyers of books',
    ]);
    expect(profiles[0]).toMatchObject({
      name: 'S1',
      size: 2,
      share: 0.3333,
      rfm: { frequency: { mean: 29, median: 30 }, monetary: { mean: 850 } },
      topCategories: [{ category: 'electronics', share: 1 }],
    });
    // 58 views and 20 purchases (ceil of 30/3 and 28/3).
    expect(profiles[0]?.behaviour).toEqual({ view: 0.744, purchase: 0.256 });
  });
});
