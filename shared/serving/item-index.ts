import { ScoringKernel } from '../ml/kernels/scoring-kernel';
import type { ServedAttribute } from '../contracts/artifacts';

/**
 * The in-memory item side of a served model: item vectors (each row the item
 * vector with its bias as the last value, as the training job writes
 * `item-vectors.bin`), ids and the attributes filters use. Scoring one user is
 * one SIMD pass over the item matrix (WebAssembly) plus a bounded min-heap — no TF.js
 * graph, no full sort.
 */
export interface ItemAttributes {
  /** One category, or several for a list attribute (a category filter matches any of them). */
  readonly category: string | readonly string[] | null;
  readonly price: number | null;
  /** Every attribute the items dataset gave the item (title, brand, …), for `?include=attributes`. */
  readonly attributes?: Readonly<Record<string, ServedAttribute>>;
}

export interface ItemFilter {
  readonly category?: string;
  readonly minPrice?: number;
  readonly maxPrice?: number;
  /** Item indices never to return (e.g. the user's interactions). */
  readonly exclude?: ReadonlySet<number>;
  /** 1 per item a named filter's item side lets through (`filters/bound-filter.ts`). */
  readonly allowed?: Uint8Array;
  /** The only items that may be returned (a filter's `INCLUDE … WHERE Interactions…`). */
  readonly only?: ReadonlySet<number>;
}

export interface ScoredItem {
  readonly index: number;
  readonly itemId: string;
  readonly score: number;
}

function hasCategory(category: ItemAttributes['category'], wanted: string): boolean {
  return typeof category === 'string' ? category === wanted : (category?.includes(wanted) ?? false);
}

export class ItemIndex {
  readonly size: number;
  /** Row width: embedding dimension + 1 (the bias). */
  readonly width: number;
  private readonly positionById: Map<string, number>;
  private readonly kernel: ScoringKernel;
  /** Euclidean norm of each item vector without its bias, for cosine similarity. */
  private readonly norms: Float32Array;

  constructor(
    vectors: Float32Array,
    readonly itemIds: readonly string[],
    readonly attributes: readonly ItemAttributes[],
  ) {
    this.size = itemIds.length;
    if (this.size === 0) throw new Error('ItemIndex needs at least one item');
    if (vectors.length % this.size !== 0) {
      throw new Error(`item vectors (${vectors.length} values) do not divide into ${this.size} items`);
    }
    if (attributes.length !== this.size) throw new Error('item attributes are not aligned with item ids');
    this.width = vectors.length / this.size;
    this.positionById = new Map(itemIds.map((id, index) => [id, index]));
    this.kernel = new ScoringKernel(this.size, this.width).load(vectors);
    this.norms = new Float32Array(this.size);
    for (let item = 0; item < this.size; item++) {
      let norm = 0;
      for (let dimension = 0; dimension < this.width - 1; dimension++) {
        norm += (vectors[item * this.width + dimension] as number) ** 2;
      }
      this.norms[item] = Math.sqrt(norm);
    }
  }

  indexOf(itemId: string): number | undefined {
    return this.positionById.get(itemId);
  }

  /** Item vector with its bias as the last value (a copy). */
  vector(index: number): Float32Array {
    return this.kernel.row(index);
  }

  /** Whether an item passes the filter (attributes and exclusions). */
  accepts(index: number, filter: ItemFilter): boolean {
    if (filter.exclude?.has(index)) return false;
    if (filter.allowed && filter.allowed[index] !== 1) return false;
    if (filter.only && !filter.only.has(index)) return false;
    const attributes = this.attributes[index] as ItemAttributes;
    if (filter.category !== undefined && !hasCategory(attributes.category, filter.category)) return false;
    if (filter.minPrice !== undefined && (attributes.price === null || attributes.price < filter.minPrice))
      return false;
    if (filter.maxPrice !== undefined && (attributes.price === null || attributes.price > filter.maxPrice))
      return false;
    return true;
  }

  /** Top-k items for a user vector of length `width` (embedding + a trailing 1 for the bias). */
  topK(userVector: Float32Array, k: number, filter: ItemFilter = {}): ScoredItem[] {
    if (userVector.length !== this.width) {
      throw new Error(`user vector has ${userVector.length} values, the model needs ${this.width}`);
    }
    return this.select(this.kernel.scores(userVector), k, filter);
  }

  /**
   * Every item's score for a user vector (a copy): a request that picks several lists — a promotion beside
   * the main list — scores the catalogue once and ranks the lists with `rankByScores`.
   */
  scoresFor(userVector: Float32Array): Float32Array {
    if (userVector.length !== this.width) {
      throw new Error(`user vector has ${userVector.length} values, the model needs ${this.width}`);
    }
    return this.kernel.scores(userVector).slice();
  }

  /** Scores of the given items only (personalized ranking of a candidate list). */
  scoreItems(userVector: Float32Array, indices: readonly number[]): number[] {
    const matrix = this.kernel.matrix();
    const stride = this.kernel.paddedWidth;
    return indices.map((index) => {
      let score = 0;
      for (let dimension = 0; dimension < this.width; dimension++) {
        score += (matrix[index * stride + dimension] as number) * (userVector[dimension] as number);
      }
      return score;
    });
  }

  /** Cosine similarity of two items' vectors (bias excluded). */
  cosine(a: number, b: number): number {
    const matrix = this.kernel.matrix();
    const stride = this.kernel.paddedWidth;
    let dot = 0;
    for (let dimension = 0; dimension < this.width - 1; dimension++) {
      dot += (matrix[a * stride + dimension] as number) * (matrix[b * stride + dimension] as number);
    }
    const norms = (this.norms[a] as number) * (this.norms[b] as number);
    return norms > 0 ? dot / norms : 0;
  }

  /**
   * Nearest items by cosine similarity of the item vectors (bias excluded), the item itself left out. Only
   * items that are similar at all (cosine > 0) are returned: a narrow filter may leave fewer than `k`.
   */
  similar(index: number, k: number, filter: ItemFilter = {}): ScoredItem[] {
    const query = this.kernel.row(index);
    const norm = this.norms[index] as number;
    query[this.width - 1] = 0;
    for (let dimension = 0; dimension < this.width - 1; dimension++) {
      query[dimension] = norm > 0 ? (query[dimension] as number) / norm : 0;
    }
    const dots = this.kernel.scores(query);
    const cosines = new Float32Array(this.size);
    for (let item = 0; item < this.size; item++) {
      const itemNorm = this.norms[item] as number;
      cosines[item] = itemNorm > 0 ? (dots[item] as number) / itemNorm : 0;
    }
    const exclude = new Set(filter.exclude ?? []);
    exclude.add(index);
    return this.select(cosines, k, { ...filter, exclude }).filter((item) => item.score > 0);
  }

  /** Top-k items by given per-item scores (a baseline's), under the filter. */
  rankByScores(scores: Float32Array, k: number, filter: ItemFilter = {}): ScoredItem[] {
    if (scores.length !== this.size) throw new Error(`${scores.length} scores for ${this.size} items`);
    return this.select(scores, k, filter);
  }

  /** Reads the item matrix once: the memory-bandwidth floor of `topK` (benchmarks). */
  readMatrix(): number {
    return this.kernel.readMatrix();
  }

  private select(scores: Float32Array, k: number, filter: ItemFilter): ScoredItem[] {
    const heap = new TopKHeap(k);
    if (filter.only) {
      // A short allow-list (the user's own history): visit only it.
      for (const item of filter.only) {
        if (item >= 0 && item < this.size && this.accepts(item, filter))
          heap.offer(item, scores[item] as number);
      }
    } else if (
      filter.category !== undefined ||
      filter.minPrice !== undefined ||
      filter.maxPrice !== undefined
    ) {
      for (let item = 0; item < this.size; item++) {
        if (this.accepts(item, filter)) heap.offer(item, scores[item] as number);
      }
    } else if (filter.allowed || filter.exclude) {
      // A named filter's mask and the (short) exclusions as one byte per item: no per-item Set lookup.
      const pass = filter.allowed ? filter.allowed.slice() : new Uint8Array(this.size).fill(1);
      for (const item of filter.exclude ?? []) if (item >= 0 && item < this.size) pass[item] = 0;
      // Score against the heap's floor first: once the heap is full almost every item fails that test
      // predictably, and the mask (a coin flip per item under a broad filter) is read only for the rest.
      let floor = Number.NEGATIVE_INFINITY;
      for (let item = 0; item < this.size; item++) {
        const score = scores[item] as number;
        if (score < floor || pass[item] !== 1) continue;
        heap.offer(item, score);
        floor = heap.floor();
      }
    } else {
      for (let item = 0; item < this.size; item++) heap.offer(item, scores[item] as number);
    }
    return heap.sorted().map(([index, score]) => ({ index, itemId: this.itemIds[index] as string, score }));
  }
}

/** A bounded min-heap keeping the k best (index, score) pairs; ties keep the lower index. */
export class TopKHeap {
  private readonly indices: Int32Array;
  private readonly scores: Float64Array;
  private size = 0;

  constructor(private readonly capacity: number) {
    this.indices = new Int32Array(Math.max(capacity, 0));
    this.scores = new Float64Array(Math.max(capacity, 0));
  }

  /** Worse-than: lower score, or equal score and higher index. */
  private worse(a: number, b: number): boolean {
    const scoreA = this.scores[a] as number;
    const scoreB = this.scores[b] as number;
    return (
      scoreA < scoreB || (scoreA === scoreB && (this.indices[a] as number) > (this.indices[b] as number))
    );
  }

  private swap(a: number, b: number): void {
    const index = this.indices[a] as number;
    const score = this.scores[a] as number;
    this.indices[a] = this.indices[b] as number;
    this.scores[a] = this.scores[b] as number;
    this.indices[b] = index;
    this.scores[b] = score;
  }

  /** The lowest score kept once the heap is full (a score below it cannot enter); −∞ before. */
  floor(): number {
    return this.size < this.capacity ? Number.NEGATIVE_INFINITY : (this.scores[0] as number);
  }

  offer(index: number, score: number): void {
    if (this.capacity === 0 || Number.isNaN(score)) return;
    if (this.size < this.capacity) {
      let child = this.size++;
      this.indices[child] = index;
      this.scores[child] = score;
      while (child > 0) {
        const parent = (child - 1) >> 1;
        if (!this.worse(child, parent)) break;
        this.swap(child, parent);
        child = parent;
      }
      return;
    }
    const rootScore = this.scores[0] as number;
    if (score < rootScore || (score === rootScore && index > (this.indices[0] as number))) return;
    this.indices[0] = index;
    this.scores[0] = score;
    let parent = 0;
    for (;;) {
      const left = 2 * parent + 1;
      const right = left + 1;
      let smallest = parent;
      if (left < this.size && this.worse(left, smallest)) smallest = left;
      if (right < this.size && this.worse(right, smallest)) smallest = right;
      if (smallest === parent) return;
      this.swap(parent, smallest);
      parent = smallest;
    }
  }

  /** Best first. */
  sorted(): [number, number][] {
    const entries: [number, number][] = [];
    for (let position = 0; position < this.size; position++) {
      entries.push([this.indices[position] as number, this.scores[position] as number]);
    }
    return entries.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  }
}
