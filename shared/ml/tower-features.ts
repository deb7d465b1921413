import type { Split } from './interactions';

/**
 * Numeric side features for the two towers, standardised (mean 0, sd 1) so they
 * share a scale with the embeddings. Computed from the training split only.
 */
function standardise(values: Float64Array): Float64Array {
  let mean = 0;
  for (const value of values) mean += value;
  mean /= Math.max(values.length, 1);
  let variance = 0;
  for (const value of values) variance += (value - mean) ** 2;
  const sd = Math.sqrt(variance / Math.max(values.length, 1)) || 1;
  return values.map((value) => (value - mean) / sd);
}

/** Item features: log popularity, log price (0 where unknown), has-price flag. */
export function itemFeatureMatrix(
  split: Split,
  numItems: number,
  prices?: readonly (number | null | undefined)[],
): { features: Float32Array; dim: number } {
  const popularity = new Float64Array(numItems);
  for (const sequence of split.train)
    for (const item of sequence) popularity[item] = (popularity[item] as number) + 1;
  const logPopularity = standardise(popularity.map((count) => Math.log1p(count)));
  const hasPrice = Float64Array.from({ length: numItems }, (_, item) =>
    typeof prices?.[item] === 'number' ? 1 : 0,
  );
  const priced = Float64Array.from({ length: numItems }, (_, item) =>
    Math.log1p(Math.max(0, Number(prices?.[item] ?? 0))),
  );
  const logPrice = hasPrice.some((flag) => flag === 1)
    ? standardise(priced).map((value, item) => value * (hasPrice[item] as number))
    : priced;
  const dim = 3;
  const features = new Float32Array(numItems * dim);
  for (let item = 0; item < numItems; item++) {
    features[item * dim] = logPopularity[item] as number;
    features[item * dim + 1] = logPrice[item] as number;
    features[item * dim + 2] = hasPrice[item] as number;
  }
  return { features, dim };
}

/** User features: log history length and log days since the user's last training interaction. Row 0 = unknown user. */
export function userFeatureMatrix(split: Split): { features: Float32Array; dim: number } {
  const users = split.train.length;
  let latest = Number.NEGATIVE_INFINITY;
  for (const times of split.trainTimestamps)
    if (times.length > 0) latest = Math.max(latest, times[times.length - 1] as number);
  const length = standardise(Float64Array.from(split.train, (sequence) => Math.log1p(sequence.length)));
  const recency = standardise(
    Float64Array.from(split.trainTimestamps, (times) =>
      times.length > 0 ? Math.log1p((latest - (times[times.length - 1] as number)) / 86_400) : 0,
    ),
  );
  const dim = 2;
  const features = new Float32Array((users + 1) * dim);
  for (let user = 0; user < users; user++) {
    features[(user + 1) * dim] = length[user] as number;
    features[(user + 1) * dim + 1] = recency[user] as number;
  }
  return { features, dim };
}
