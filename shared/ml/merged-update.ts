import type { BatchPart, PartGradients } from './batch-parts';
import { type AdamSettings, adamConstants, type LazyAdamTable, RowSlots } from './lazy-adam';

/**
 * A step's row-sparse update from its parts' gradients (`training-step.ts`), split by rows across the training
 * threads. A part's gradient has one row per local row and parts share rows (a popular item is in every part), so
 * a table row's gradient is the sum of its rows in the parts, in part order. Which merged row each local row adds
 * to depends only on the parts' rows, so that plan is made when the batch is assembled; then every thread sums
 * and applies lazy Adam to its own range of the merged rows. The ranges are disjoint (no row is written by two
 * threads) and every row is summed in part order whichever thread sums it, so a run does not depend on timing.
 * Done on the training thread alone this was ~11 ms of a ~60 ms two-thread step (10^5 items), the worker idle.
 */

/** The union of a step's part rows ("merged" rows) and, per part, where each merged row is among its local rows. */
export interface MergePlan {
  /** The model's item rows the step touches, by merged slot (first seen, part by part). */
  readonly itemRows: Int32Array;
  readonly userRows: Int32Array;
  /** Per part: the local item row of each merged slot, −1 where the part does not have it. */
  readonly itemLocals: readonly Int32Array[];
  readonly userLocals: readonly Int32Array[];
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
    return {
      itemRows,
      userRows,
      itemLocals: itemTargets.map((targets) => localsOf(targets, itemRows.length)),
      userLocals: userTargets.map((targets) => localsOf(targets, userRows.length)),
    };
  }
}

/** The merged slot of each of a part's local rows. */
function slotsOf(slots: RowSlots, rows: Int32Array): Int32Array {
  const out = new Int32Array(rows.length);
  for (let index = 0; index < rows.length; index++) out[index] = slots.slot(rows[index] as number);
  return out;
}

/** The inverse: each merged slot's local row in the part, −1 for none. */
function localsOf(targets: Int32Array, mergedRows: number): Int32Array {
  const locals = new Int32Array(mergedRows).fill(-1);
  for (let local = 0; local < targets.length; local++) locals[targets[local] as number] = local;
  return locals;
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
 * Merged slot `slot`'s gradient row into `into` (`width` values): the parts' local rows that add to it, summed in
 * part order. `gradients[p]` has `width` values per local row of part p, `locals[p]` each merged slot's local row.
 */
export function sumMergedRow(
  into: Float32Array,
  width: number,
  slot: number,
  gradients: readonly Float32Array[],
  locals: readonly Int32Array[],
): void {
  into.fill(0, 0, width);
  for (let part = 0; part < gradients.length; part++) {
    const local = (locals[part] as Int32Array)[slot] as number;
    if (local < 0) continue;
    const gradient = gradients[part] as Float32Array;
    const at = local * width;
    for (let column = 0; column < width; column++)
      into[column] = (into[column] as number) + (gradient[at + column] as number);
  }
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
 * One thread's share of a step's row-sparse update: row by row, its merged item and user rows summed over the
 * parts (in a row-sized buffer that stays in cache), then lazy Adam on the row.
 */
export function updateRowShare(
  tables: RowSparseTables,
  plan: MergePlan,
  gradients: readonly PartGradients[],
  share: RowShare,
  step: number,
  adam: AdamSettings,
): void {
  const update = (
    table: LazyAdamTable,
    rows: Int32Array,
    range: RowRange,
    partRows: readonly Float32Array[],
    locals: readonly Int32Array[],
  ) => {
    if (range.to <= range.from) return;
    const [only] = partRows;
    // One part: its local rows are the merged rows, in order (the plan numbers them first seen).
    if (only && partRows.length === 1 && range.from === 0 && range.to === rows.length) {
      table.update(rows, only, step, adam);
      return;
    }
    const constants = adamConstants(step, adam);
    const gradient = new Float32Array(table.width);
    for (let slot = range.from; slot < range.to; slot++) {
      sumMergedRow(gradient, table.width, slot, partRows, locals);
      table.updateRow(rows[slot] as number, gradient, 0, constants);
    }
  };
  update(
    tables.itemEmbedding,
    plan.itemRows,
    share.item,
    gradients.map((gradient) => gradient.itemEmbedding),
    plan.itemLocals,
  );
  update(
    tables.itemBias,
    plan.itemRows,
    share.item,
    gradients.map((gradient) => gradient.itemBias),
    plan.itemLocals,
  );
  update(
    tables.userEmbedding,
    plan.userRows,
    share.user,
    gradients.map((gradient) => gradient.userEmbedding),
    plan.userLocals,
  );
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
