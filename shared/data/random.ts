/**
 * A small seeded PRNG (mulberry32) and the distributions the synthetic data
 * generator needs. Deterministic by seed on every platform, unlike Math.random.
 */
export class SeededRandom {
  private state: number;
  private spareNormal: number | undefined;

  constructor(seed: number) {
    this.state = seed | 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return (this.bits() >>> 0) / 4294967296;
  }

  /** 32 uniform random bits, as a signed 32-bit integer. */
  bits(): number {
    // The state as a signed 32-bit integer (the same bits as unsigned): V8 keeps it unboxed, where an unsigned
    // value above 2^31 is a heap number allocated on every call (16 ns a draw against 11).
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return t ^ (t >>> 14);
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Shuffles in place (Fisher–Yates, from the end): the same order for the same seed, everywhere. */
  shuffle<T extends { length: number; [index: number]: number }>(values: T): T {
    for (let index = values.length - 1; index > 0; index--) {
      const other = this.int(index + 1);
      const value = values[index] as number;
      values[index] = values[other] as number;
      values[other] = value;
    }
    return values;
  }

  /** Standard normal (Box-Muller, caching the second value). */
  normal(): number {
    if (this.spareNormal !== undefined) {
      const value = this.spareNormal;
      this.spareNormal = undefined;
      return value;
    }
    const u = Math.max(this.next(), Number.EPSILON);
    const v = this.next();
    const radius = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = radius * Math.sin(2 * Math.PI * v);
    return radius * Math.cos(2 * Math.PI * v);
  }

  /** Geometric number of trials >= 1 with the given mean. */
  geometric(mean: number): number {
    const p = 1 / Math.max(mean, 1);
    return 1 + Math.floor(Math.log(Math.max(this.next(), Number.EPSILON)) / Math.log(1 - p + Number.EPSILON));
  }

  bernoulli(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(values: readonly T[]): T {
    const value = values[this.int(values.length)];
    if (value === undefined) throw new Error('pick() from an empty list');
    return value;
  }
}

/**
 * Walker's alias table: O(1) sampling from a fixed discrete distribution, so
 * drawing millions of popularity-weighted items stays cheap.
 */
export class AliasTable {
  private readonly probability: Float64Array;
  private readonly alias: Int32Array;

  constructor(weights: ArrayLike<number>) {
    const n = weights.length;
    if (n === 0) throw new Error('AliasTable needs at least one weight');
    let total = 0;
    for (let i = 0; i < n; i++) total += weights[i] as number;
    this.probability = new Float64Array(n);
    this.alias = new Int32Array(n);
    const scaled = new Float64Array(n);
    const small: number[] = [];
    const large: number[] = [];
    for (let i = 0; i < n; i++) {
      scaled[i] = ((weights[i] as number) * n) / total;
      ((scaled[i] as number) < 1 ? small : large).push(i);
    }
    while (small.length > 0 && large.length > 0) {
      const less = small.pop() as number;
      const more = large.pop() as number;
      this.probability[less] = scaled[less] as number;
      this.alias[less] = more;
      scaled[more] = (scaled[more] as number) + (scaled[less] as number) - 1;
      ((scaled[more] as number) < 1 ? small : large).push(more);
    }
    for (const index of [...small, ...large]) this.probability[index] = 1;
  }

  sample(random: SeededRandom): number {
    const column = random.int(this.probability.length);
    return random.next() < (this.probability[column] as number) ? column : (this.alias[column] as number);
  }
}
