import type { BatchPart, PartGradients } from './batch-parts';
import { type AdamSettings, type LazyAdamTable, RowSlots } from './lazy-adam';

/**
 * A step's row-sparse update from its parts' gradients (`training-step.ts`), split by rows across the training
 * threads. A part's gradient has one row per local row and parts share rows (a popular item is in every part), so
 * a table row's gradient is the sum of its rows in the parts, in part order. Which merged row each local row adds
 * to depends only on the parts' rows, so that plan is made when the batch is assembled; then every thread sums
 * and applies lazy Adam to its own range of the merged rows. The ranges are disjoint (no row is written by two
 * threads) and every row is summed in part order whichever thread sums it, so a run does not depend on timing.
 * Done on the training thread alone this was ~11 ms of a ~60 ms two-thread step (10^5 items), the worker idle.
 */

/** The union of a step's part rows ("merged" rows) and, per part, the merged slot of each of its local rows. */
export interface MergePlan {
  /** The model's item rows the step touches, by merged slot (first seen, part by part). */
  readonly itemRows: Int32Array;
  readonly userRows: Int32Array;
  /** Per part: the merged slot of each local item row. */
  readonly itemTargets: readonly Int32Array[];
  readonly userTargets: readonly Int32Array[];
}

export class MergePlanner {
  private readonly itemSlots: RowSlots;
  private readonly userSlots: RowSlots;

  constructor(itemTableRows: number, userTableRows: number) {
    this.itemSlots = new RowSlots(itemTableRows);
    this.userSlots = new RowSlots(userTableRows);
  }

  plan(parts: readonly Pick<BatchPart, 'itemRows' | 'userRows'>[]): MergePlan {
    const itemTargets = parts.map((part) => slotsOf(this.itemSlots, part.itemRows));
    const itemRows = this.itemSlots.take();
    const userTargets = parts.map((part) => slotsOf(this.userSlots, part.userRows));
    const userRows = this.userSlots.take();
    return { itemRows, userRows, itemTargets, userTargets };
  }
}

function slotsOf(slots: RowSlots, rows: Int32Array): Int32Array {
  const out = new Int32Array(rows.length);
  for (let index = 0; index < rows.length; index++) out[index] = slots.slot(rows[index] as number);
  return out;
}

/** Merged slots [from, to). */
export interface RowRange {
  readonly from: number;
  readonly to: number;
}

/** Thread `thread`'s share of `rows` merged rows: contiguous, as even as the rows allow. */
export function rowShare(rows: number, thread: number, threads: number): RowRange {
  return {
    from: Math.floor((thread * rows) / threads),
    to: Math.floor(((thread + 1) * rows) / threads),
  };
}

/**
 * The merged gradient rows [from, to): every part's rows that add to them, summed in part order, into `sum`
 * (merged slot − from; `sum` is zeroed first). `gradients[p]` has `width` values per local row of part p and
 * `targets[p]` the merged slot of each.
 */
export function sumRows(
  sum: Float32Array,
  width: number,
  range: RowRange,
  gradients: readonly Float32Array[],
  targets: readonly Int32Array[],
): void {
  const { from, to } = range;
  sum.fill(0, 0, (to - from) * width);
  gradients.forEach((gradient, part) => {
    const partTargets = targets[part] as Int32Array;
    for (let local = 0; local < partTargets.length; local++) {
      const merged = partTargets[local] as number;
      if (merged < from || merged >= to) continue;
      const into = (merged - from) * width;
      const at = local * width;
      for (let column = 0; column < width; column++)
        sum[into + column] = (sum[into + column] as number) + (gradient[at + column] as number);
    }
  });
}

/** The row-sparse tables a step updates by merged rows (item bias shares the item rows). */
export interface RowSparseTables {
  readonly itemEmbedding: LazyAdamTable;
  readonly itemBias: LazyAdamTable;
  readonly userEmbedding: LazyAdamTable;
}

/** One thread's merged item and user rows. */
export interface RowShare {
  readonly item: RowRange;
  readonly user: RowRange;
}

/**
 * One thread's share of a step's row-sparse update: its merged item and user rows summed over the parts, then
 * lazy Adam on them. `sums` is the thread's reusable buffer.
 */
export function updateRowShare(
  tables: RowSparseTables,
  plan: MergePlan,
  gradients: readonly PartGradients[],
  share: RowShare,
  step: number,
  adam: AdamSettings,
  sums: SumBuffer,
): void {
  const update = (
    table: LazyAdamTable,
    rows: Int32Array,
    range: RowRange,
    partRows: readonly Float32Array[],
    targets: readonly Int32Array[],
  ) => {
    if (range.to <= range.from) return;
    const [only] = partRows;
    // One part: its local rows are the merged rows, in order (the plan numbers them first seen).
    if (only && partRows.length === 1 && range.from === 0 && range.to === rows.length) {
      table.update(rows, only, step, adam);
      return;
    }
    const sum = sums.take((range.to - range.from) * table.width);
    sumRows(sum, table.width, range, partRows, targets);
    table.update(rows.subarray(range.from, range.to), sum, step, adam);
  };
  update(
    tables.itemEmbedding,
    plan.itemRows,
    share.item,
    gradients.map((gradient) => gradient.itemEmbedding),
    plan.itemTargets,
  );
  update(
    tables.itemBias,
    plan.itemRows,
    share.item,
    gradients.map((gradient) => gradient.itemBias),
    plan.itemTargets,
  );
  update(
    tables.userEmbedding,
    plan.userRows,
    share.user,
    gradients.map((gradient) => gradient.userEmbedding),
    plan.userTargets,
  );
}

/** A Float32Array reused step after step, grown when a step needs more. */
export class SumBuffer {
  private values = new Float32Array(0);

  take(length: number): Float32Array {
    if (this.values.length < length) this.values = new Float32Array(Math.ceil(length * 1.25));
    return this.values.subarray(0, length);
  }
}

/** How many values of each kind a part's gradient holds (one row per local item / user row). */
export interface GradientLayout {
  readonly itemRows: number;
  readonly userRows: number;
  readonly width: number;
  readonly denseSizes: readonly number[];
}

/**
 * Where a part's gradient is written, reused step after step: in shared memory when there are gradient workers
 * (a worker writes its part's there and every thread reads all of them), else a plain buffer. Written straight
 * from the backend, a step allocates no multi-megabyte arrays for its gradients (fresh ones made V8 collect
 * garbage every few steps).
 */
export interface GradientSlot {
  readonly buffer: SharedArrayBuffer | ArrayBuffer;
  readonly layout: GradientLayout;
}

/** Views of a slot's gradient (item embedding rows, item biases, user embedding rows, each dense weight). */
export function gradientViews(slot: GradientSlot, loss: number): PartGradients {
  const { itemRows, userRows, width, denseSizes } = slot.layout;
  let offset = 0;
  const next = (length: number) => {
    const view = new Float32Array(slot.buffer, offset * 4, length);
    offset += length;
    return view;
  };
  return {
    loss,
    itemEmbedding: next(itemRows * width),
    itemBias: next(itemRows),
    userEmbedding: next(userRows * width),
    dense: denseSizes.map(next),
  };
}

function layoutValues(layout: GradientLayout): number {
  const dense = layout.denseSizes.reduce((total, size) => total + size, 0);
  return layout.itemRows * (layout.width + 1) + layout.userRows * layout.width + dense;
}

/** Gradient slots by part index, kept across steps (a new buffer only when a part outgrows its slot's). */
export class GradientSlots {
  private readonly buffers: (SharedArrayBuffer | ArrayBuffer)[] = [];

  constructor(
    private readonly width: number,
    private readonly denseSizes: readonly number[],
    private readonly shared: boolean,
  ) {}

  slot(index: number, part: Pick<BatchPart, 'itemRows' | 'userRows'>): GradientSlot {
    const layout: GradientLayout = {
      itemRows: part.itemRows.length,
      userRows: part.userRows.length,
      width: this.width,
      denseSizes: this.denseSizes,
    };
    const bytes = layoutValues(layout) * 4;
    let buffer = this.buffers[index];
    if (!buffer || buffer.byteLength < bytes) {
      const size = Math.ceil((bytes * 1.25) / 4) * 4;
      buffer = this.shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size);
      this.buffers[index] = buffer;
    }
    return { buffer, layout };
  }
}
