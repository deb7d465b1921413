import type { Split } from './interactions';
import { RowSlots } from './lazy-adam';
import { fillContext, type TwoTowerShape } from './two-tower';

/**
 * A training step's batch in parts (`training-step.ts` computes a part's gradient): the examples, each step's
 * parts with their indices rewritten into local rows, and the sum of the parts' gradients.
 */

/** One part of a step's batch, with every item and user index rewritten into the part's local rows. */
export interface BatchPart {
  /** Rows of this part. */
  readonly size: number;
  /** This part's first row within its group: part row r's own target is candidate column firstRow + r. */
  readonly firstRow: number;
  /** Examples in the whole batch (the loss is a mean over them). */
  readonly batchSize: number;
  /** Sum of the whole batch's example weights (the weighted loss is divided by it). */
  readonly batchWeight: number;
  /** Parts the batch is cut into (each adds its share of its candidates' L2 penalty). */
  readonly parts: number;
  /** [size × N] local item rows of each example's history (0 = padding: local row 0 is always the padding row). */
  readonly context: Int32Array;
  readonly users: Int32Array;
  /** Local item row of each example's target. */
  readonly targets: Int32Array;
  /** Sampled softmax: every target of the part's group, then the sampled negatives, as local item rows. */
  readonly candidates: Int32Array;
  readonly weights: Float32Array;
  /** 1 for a positive example, 0 for a negative one (the event policy's dislikes). */
  readonly positive: Uint8Array;
  /** The model's item rows (item index + 1; 0 = padding) by local row; with full softmax every row. */
  readonly itemRows: Int32Array;
  readonly userRows: Int32Array;
}

/** A part's gradient: one row per local item / user row, and each dense weight whole (in `denseNames` order). */
export interface PartGradients {
  readonly loss: number;
  readonly itemEmbedding: Float32Array;
  readonly itemBias: Float32Array;
  readonly userEmbedding: Float32Array;
  readonly dense: Float32Array[];
}

/**
 * Training examples: every training position of a positive (the history before it as context), and every
 * negative pair (the positives before it as context) — with the event policy's loss weights.
 */
export interface Examples {
  readonly users: Int32Array;
  /** How much of the user's training sequence is context. */
  readonly positions: Int32Array;
  /** Target item of a negative example; -1 for a positive (its target is the sequence's item at `position`). */
  readonly negativeItems: Int32Array;
  readonly weights: Float32Array;
  /** Whether any example has a weight other than 1 or is negative (else the plain mean cross-entropy). */
  readonly weighted: boolean;
}

export function buildExamples(split: Split): Examples {
  let count = split.negatives.users.length;
  for (const sequence of split.train) count += sequence.length;
  const users = new Int32Array(count);
  const positions = new Int32Array(count);
  const negativeItems = new Int32Array(count).fill(-1);
  const weights = new Float32Array(count);
  let weighted = split.negatives.users.length > 0;
  let index = 0;
  split.train.forEach((sequence, user) => {
    const sequenceWeights = split.trainWeights[user] as Float32Array;
    for (let position = 0; position < sequence.length; position++) {
      users[index] = user;
      positions[index] = position;
      const weight = sequenceWeights[position] ?? 1;
      weights[index] = weight;
      if (weight !== 1) weighted = true;
      index++;
    }
  });
  split.negatives.users.forEach((user, negative) => {
    users[index] = user;
    positions[index] = split.negatives.positions[negative] as number;
    negativeItems[index] = split.negatives.items[negative] as number;
    weights[index] = split.negatives.weights[negative] as number;
    index++;
  });
  return { users, positions, negativeItems, weights, weighted };
}

/** Builds each step's parts from example indices (reusing its slot arrays across steps). */
export class BatchAssembler {
  private readonly itemSlots: RowSlots[] = [];
  private readonly userSlots: RowSlots[] = [];
  private readonly allItemRows?: Int32Array;

  constructor(
    private readonly split: Split,
    private readonly examples: Examples,
    private readonly shape: Pick<TwoTowerShape, 'numItems' | 'numUsers'>,
    private readonly sequenceLength: number,
    fullSoftmax: boolean,
  ) {
    // With full softmax every item row is in every step: the local rows are the model's rows.
    if (fullSoftmax) this.allItemRows = Int32Array.from({ length: shape.numItems + 1 }, (_, row) => row);
  }

  /**
   * The batch of `indices` in parts; `sampled` are sampled-softmax negatives. With sampled softmax the batch is
   * cut into groups of `groupRows` rows, whose targets are each other's in-batch negatives (with the sampled ones,
   * shared by the batch); each group is one part or, to give `parts` parts, cut into several. With full softmax
   * every candidate is every item: `parts` parts of (nearly) equal rows.
   */
  assemble(
    indices: Int32Array,
    sampled: Int32Array | undefined,
    parts = 1,
    groupRows = indices.length,
  ): BatchPart[] {
    const { split, examples } = this;
    const n = this.sequenceLength;
    const batchSize = indices.length;
    const targetRows = new Int32Array(batchSize);
    let batchWeight = 0;
    for (let row = 0; row < batchSize; row++) {
      const example = indices[row] as number;
      const negativeItem = examples.negativeItems[example] as number;
      const sequence = split.train[examples.users[example] as number] as Int32Array;
      targetRows[row] =
        (negativeItem >= 0 ? negativeItem : (sequence[examples.positions[example] as number] as number)) + 1;
      batchWeight += examples.weights[example] as number;
    }
    const groups = this.allItemRows ? 1 : Math.max(1, Math.ceil(batchSize / Math.max(1, groupRows)));
    const perGroup = Math.max(1, Math.ceil(parts / groups));
    const count = groups * perGroup;
    const out: BatchPart[] = [];
    for (let part = 0; part < count; part++) {
      const group = Math.floor(part / perGroup);
      const groupStart = Math.floor((group * batchSize) / groups);
      const groupEnd = Math.floor(((group + 1) * batchSize) / groups);
      const groupSize = groupEnd - groupStart;
      const within = part % perGroup;
      const startRow = groupStart + Math.floor((within * groupSize) / perGroup);
      const endRow = groupStart + Math.floor(((within + 1) * groupSize) / perGroup);
      if (endRow === startRow) continue;
      const itemSlots = this.allItemRows
        ? undefined
        : this.slotsOf(this.itemSlots, part, this.shape.numItems + 1);
      const userSlots = this.slotsOf(this.userSlots, part, this.shape.numUsers + 1);
      const itemSlot = (row: number) => (itemSlots ? itemSlots.slot(row) : row);
      // The user tower reads local row 0 as padding (its attention mask): the padding row takes slot 0.
      itemSlot(0);
      // A part's candidates are its group's: the group's targets (in-batch negatives), then the sampled items.
      const candidates = new Int32Array(groupSize + (sampled?.length ?? 0));
      for (let row = 0; row < groupSize; row++)
        candidates[row] = itemSlot(targetRows[groupStart + row] as number);
      sampled?.forEach((item, index) => (candidates[groupSize + index] = itemSlot(item + 1)));
      const firstRow = startRow - groupStart;
      const size = endRow - startRow;
      const context = new Int32Array(size * n);
      const users = new Int32Array(size);
      const weights = new Float32Array(size);
      const positive = new Uint8Array(size);
      for (let row = 0; row < size; row++) {
        const example = indices[startRow + row] as number;
        const user = examples.users[example] as number;
        users[row] = userSlots.slot(user + 1);
        weights[row] = examples.weights[example] as number;
        positive[row] = (examples.negativeItems[example] as number) >= 0 ? 0 : 1;
        fillContext(
          split.train[user] as Int32Array,
          examples.positions[example] as number,
          n,
          context,
          row * n,
        );
      }
      for (let index = 0; index < context.length; index++)
        context[index] = itemSlot(context[index] as number);
      out.push({
        size,
        firstRow,
        batchSize,
        batchWeight,
        parts: count,
        context,
        users,
        targets: candidates.slice(firstRow, firstRow + size),
        candidates,
        weights,
        positive,
        itemRows: this.allItemRows ?? (itemSlots as RowSlots).take(),
        userRows: userSlots.take(),
      });
    }
    // Parts with no rows (a batch smaller than its parts) were left out: the penalty's share counts the rest.
    return out.length === count ? out : out.map((part) => ({ ...part, parts: out.length }));
  }

  private slotsOf(slots: RowSlots[], part: number, rows: number): RowSlots {
    let found = slots[part];
    if (!found) {
      found = new RowSlots(rows);
      slots[part] = found;
    }
    return found;
  }
}
