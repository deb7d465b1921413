/**
 * Row-sparse embedding tables trained with lazy Adam (TF Addons' LazyAdam, PyTorch's SparseAdam): a step
 * reads, and updates the moments of, only the rows its batch touched. Dense Adam would decay and apply every
 * row's moments on every step — O(rows · width) per step however small the batch, which is what made a
 * training step's cost grow with the catalogue. The rows live in plain Float32Arrays; a step copies its rows
 * out (`gatherRowsOf`), the tensors compute the gradient of those copies, and `update` / `updateRow` apply it.
 *
 * The update is TF.js's Adam formula (bias-corrected moments, ε outside the square root, the step's β powers;
 * the corrections folded into two constants), so on the rows a step touches it equals `tf.train.adam` (a test
 * checks it).
 */
export interface AdamSettings {
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
}

/** tf.train.adam's defaults (ε is the float32 backend's). */
export const ADAM_DEFAULTS: Omit<AdamSettings, 'learningRate'> = { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };

/**
 * Rows of a row-major array (`width` values per row), in the order given, as one new array. `firstRow` is the
 * row number of the array's first row: attributes stored per item start at row 1 of the item table, so the
 * padding row 0 (and any row before `firstRow`) comes out as zeros.
 */
export function gatherRowsOf<T extends Float32Array | Int32Array>(
  values: T,
  width: number,
  rows: Int32Array,
  make: (size: number) => T,
  firstRow = 0,
): T {
  const out = make(rows.length * width);
  // Value by value: a subarray per row would be an object per row (thousands a step) for the collector.
  for (let slot = 0; slot < rows.length; slot++) {
    const at = ((rows[slot] as number) - firstRow) * width;
    const into = slot * width;
    for (let column = 0; column < width; column++)
      out[into + column] = at >= 0 ? (values[at + column] as number) : 0;
  }
  return out;
}

/** A table's Adam moments, row-aligned with its values. */
export interface AdamMoments {
  readonly first: Float32Array;
  readonly second: Float32Array;
}

export class LazyAdamTable {
  readonly moments: AdamMoments;

  constructor(
    /** Row-major, `width` values per row; updated in place. */
    readonly values: Float32Array,
    readonly width: number,
    /**
     * The moments: new zeroed ones by default, in shared memory with `'shared'` (so gradient workers can update
     * rows too), or given — a worker's view of the training thread's.
     */
    moments: AdamMoments | 'shared' | 'own' = 'own',
  ) {
    if (values.length % width !== 0)
      throw new Error(`a table of width ${width} cannot hold ${values.length} values`);
    const zeroed = () =>
      residentZeros(
        moments === 'shared'
          ? new Float32Array(new SharedArrayBuffer(values.byteLength))
          : new Float32Array(values.length),
      );
    this.moments = typeof moments === 'object' ? moments : { first: zeroed(), second: zeroed() };
    if (this.moments.first.length !== values.length || this.moments.second.length !== values.length)
      throw new Error('Adam moments must have one value per table value');
  }

  get rows(): number {
    return this.values.length / this.width;
  }

  /**
   * One Adam step on the given rows. `gradient` holds one row per entry of `rows` (distinct rows); `step` is
   * the optimizer's 1-based step count, shared by every table and the dense weights.
   */
  update(rows: Int32Array, gradient: Float32Array, step: number, settings: AdamSettings): void {
    const width = this.width;
    if (gradient.length !== rows.length * width)
      throw new Error(`gradient has ${gradient.length} values for ${rows.length} rows of width ${width}`);
    const constants = adamConstants(step, settings);
    for (let slot = 0; slot < rows.length; slot++)
      this.updateRow(rows[slot] as number, gradient, slot * width, constants);
  }

  /** One Adam step on one row, its gradient at `gradient[offset ..]`. */
  updateRow(row: number, gradient: Float32Array, offset: number, constants: AdamConstants): void {
    const { beta1, beta2, stepSize, epsilonHat } = constants;
    const width = this.width;
    const { values } = this;
    const { first: firstMoment, second: secondMoment } = this.moments;
    const base = row * width;
    for (let column = 0; column < width; column++) {
      const at = base + column;
      const g = gradient[offset + column] as number;
      const m = beta1 * (firstMoment[at] as number) + (1 - beta1) * g;
      const v = beta2 * (secondMoment[at] as number) + (1 - beta2) * g * g;
      firstMoment[at] = m;
      secondMoment[at] = v;
      values[at] = (values[at] as number) - (stepSize * m) / (Math.sqrt(v) + epsilonHat);
    }
  }
}

/** A step's Adam constants: the β's, and the bias corrections folded into the step size and ε. */
export interface AdamConstants {
  readonly beta1: number;
  readonly beta2: number;
  readonly stepSize: number;
  readonly epsilonHat: number;
}

/**
 * lr·(m/c1)/(√(v/c2) + ε) with the corrections folded into two constants: one square root and one division per
 * value (the update is serial work between the parallel parts of a step).
 */
export function adamConstants(step: number, settings: AdamSettings): AdamConstants {
  const { learningRate, beta1, beta2, epsilon } = settings;
  const secondRoot = Math.sqrt(1 - beta2 ** step);
  return {
    beta1,
    beta2,
    stepSize: (learningRate * secondRoot) / (1 - beta1 ** step),
    epsilonHat: epsilon * secondRoot,
  };
}

/**
 * A fresh zeroed array with every memory page written once, in order. The OS maps a zeroed allocation's pages in
 * on first touch — on this VM ~14 µs a page — so moments first touched row by row, at random, during training put
 * that cost inside the steps (at 10^6 items the update's share took 11.4 ms instead of 4.5 in the first epoch);
 * touched in order when allocated it is ~0.9 s per 256 MB, once.
 */
function residentZeros(array: Float32Array): Float32Array {
  const valuesPerPage = 4096 / Float32Array.BYTES_PER_ELEMENT;
  for (let at = 0; at < array.length; at += valuesPerPage) array[at] = 0;
  return array;
}

/**
 * Distinct rows of a table in first-seen order, each given a local slot: a batch's indices rewritten into
 * its local tables. Reusable across batches (the lookup array is the table's size, cleared row by row).
 */
export class RowSlots {
  private readonly slotOf: Int32Array;
  private readonly seen: number[] = [];

  constructor(tableRows: number) {
    this.slotOf = new Int32Array(tableRows).fill(-1);
  }

  slot(row: number): number {
    let slot = this.slotOf[row] as number;
    if (slot < 0) {
      slot = this.seen.length;
      this.slotOf[row] = slot;
      this.seen.push(row);
    }
    return slot;
  }

  /** The rows seen since the last call, by slot; resets for the next batch. */
  take(): Int32Array {
    const rows = Int32Array.from(this.seen);
    for (const row of this.seen) this.slotOf[row] = -1;
    this.seen.length = 0;
    return rows;
  }
}
