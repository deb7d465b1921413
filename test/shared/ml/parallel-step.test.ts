import * as tf from '@tensorflow/tfjs';
import { parseEventPolicy } from '../../../shared/data/event-policy';
import { SeededRandom } from '../../../shared/data/random';
import { initBackend } from '../../../shared/ml/backend';
import { GradientWorkers, sharedCopy } from '../../../shared/ml/gradient-workers';
import { buildInteractionLog, leaveLastOut, type Split } from '../../../shared/ml/interactions';
import {
  BatchAssembler,
  type BatchPart,
  buildExamples,
  type PartGradients,
} from '../../../shared/ml/batch-parts';
import { ADAM_DEFAULTS, LazyAdamTable } from '../../../shared/ml/lazy-adam';
import {
  type GradientSlot,
  GradientSlots,
  MergePlanner,
  rowShare,
  type RowSparseTables,
  sumMergedRow,
  updateRowShare,
} from '../../../shared/ml/merged-update';
import {
  denseWeightNames,
  type LossSettings,
  partGradients,
  type StepShape,
  type WeightArrays,
} from '../../../shared/ml/training-step';
import { TwoTowerModel } from '../../../shared/ml/two-tower';

const NUM_USERS = 30;
const NUM_ITEMS = 60;
const D = 8;
const N = 5;

/** A small log with repeated items across users (in-batch collisions) and, under the policy, weights and negatives. */
function smallSplit(): Split {
  const random = new SeededRandom(5);
  const rows = [];
  for (let user = 0; user < NUM_USERS; user++)
    for (let event = 0; event < 9; event++)
      rows.push({
        user_id: `u${user}`,
        item_id: `i${Math.floor(random.next() ** 2 * NUM_ITEMS)}`,
        timestamp: user * 100 + event,
        event_type: event % 4 === 3 ? 'purchase' : event % 7 === 6 ? 'return' : 'view',
      });
  const policy = parseEventPolicy({ view: {}, purchase: { weight: 2 }, return: { role: 'negative' } });
  return leaveLastOut(buildInteractionLog(rows, policy));
}

const shape: StepShape = {
  numUsers: NUM_USERS,
  numItems: NUM_ITEMS,
  embeddingDim: D,
  itemCategories: Int32Array.from({ length: NUM_ITEMS }, (_, item) => (item % 4) + 1),
  numCategories: 4,
  itemFeatures: Float32Array.from({ length: NUM_ITEMS * 2 }, (_, index) => Math.cos(index)),
  itemFeatureDim: 2,
  userFeatures: Float32Array.from({ length: (NUM_USERS + 1) * 3 }, (_, index) => Math.sin(index)),
  userFeatureDim: 3,
};

function weightsOf(model: TwoTowerModel, shared: boolean): WeightArrays {
  return new Map(
    [...model.weights].map(([name, variable]) => {
      const values = (variable.dataSync() as Float32Array).slice();
      return [name, { values: shared ? sharedCopy(values) : values, shape: variable.shape }];
    }),
  );
}

/** A shared gradient slot for a part of a step over `weights`. */
function slotFor(weights: WeightArrays, part: BatchPart): GradientSlot {
  const dense = denseWeightNames(weights).map((name) => weights.get(name)?.values.length ?? 0);
  return new GradientSlots(D, dense, true).slot(0, part);
}

/** Lazy-Adam tables over copies of the row-sparse weights (in shared memory: a worker may update them too). */
function rowSparseTablesOf(weights: WeightArrays): RowSparseTables {
  const table = (name: string, width: number) =>
    new LazyAdamTable(sharedCopy(weights.get(name)?.values ?? new Float32Array()), width, 'shared');
  return {
    itemEmbedding: table('item_embedding', D),
    itemBias: table('item_bias', 1),
    userEmbedding: table('user_embedding', D),
  };
}

function tableState(tables: RowSparseTables): number[][] {
  return Object.values(tables).flatMap((table: LazyAdamTable) => [
    [...table.values],
    [...table.moments.first],
    [...table.moments.second],
  ]);
}

function settingsFor(fullSoftmax: boolean, weighted: boolean): LossSettings {
  return {
    fullSoftmax,
    logPopularity: Float32Array.from({ length: NUM_ITEMS }, (_, item) => Math.log(NUM_ITEMS - item + 1)),
    weighted,
    dropout: 0, // dropout masks differ between parts by design; the sums are compared without them
    l2: 0.01,
  };
}

/** The sum of a step's part gradients, with the row-sparse ones over the union of the parts' rows. */
interface MergedGradients {
  readonly loss: number;
  readonly itemRows: Int32Array;
  readonly itemEmbedding: Float32Array;
  readonly itemBias: Float32Array;
  readonly userRows: Int32Array;
  readonly userEmbedding: Float32Array;
  readonly dense: Float32Array[];
}

/** The parts' gradients summed as a training step sums them: by the merge plan, over all merged rows. */
function merge(results: readonly { part: BatchPart; gradients: PartGradients }[]): MergedGradients {
  const plan = new MergePlanner(NUM_ITEMS + 1, NUM_USERS + 1).plan(results.map(({ part }) => part));
  const gradients = results.map((result) => result.gradients);
  const summed = (
    rows: Int32Array,
    width: number,
    pick: (gradient: PartGradients) => Float32Array,
    locals: readonly Int32Array[],
  ) => {
    const sum = new Float32Array(rows.length * width);
    const picked = gradients.map(pick);
    for (let slot = 0; slot < rows.length; slot++)
      sumMergedRow(sum.subarray(slot * width), width, slot, picked, locals);
    return sum;
  };
  return {
    loss: gradients.reduce((total, gradient) => total + gradient.loss, 0),
    itemRows: plan.itemRows,
    itemEmbedding: summed(plan.itemRows, D, (gradient) => gradient.itemEmbedding, plan.itemLocals),
    itemBias: summed(plan.itemRows, 1, (gradient) => gradient.itemBias, plan.itemLocals),
    userRows: plan.userRows,
    userEmbedding: summed(plan.userRows, D, (gradient) => gradient.userEmbedding, plan.userLocals),
    dense: (gradients[0] as PartGradients).dense.map((_, weight) => {
      const sum = new Float32Array((gradients[0] as PartGradients).dense[weight]?.length ?? 0);
      for (const gradient of gradients)
        (gradient.dense[weight] as Float32Array).forEach(
          (value, at) => (sum[at] = (sum[at] as number) + value),
        );
      return sum;
    }),
  };
}

/** Gradient rows by model row, so a merged result and a whole-batch one compare regardless of slot order. */
function byRow(rows: Int32Array, values: Float32Array, width: number): Map<number, number[]> {
  return new Map([...rows].map((row, slot) => [row, [...values.subarray(slot * width, (slot + 1) * width)]]));
}

function expectSameGradients(actual: MergedGradients, expected: MergedGradients): void {
  expect(actual.loss).toBeCloseTo(expected.loss, 5);
  const compare = (a: Map<number, number[]>, e: Map<number, number[]>) => {
    expect([...a.keys()].sort((x, y) => x - y)).toEqual([...e.keys()].sort((x, y) => x - y));
    for (const [row, values] of e)
      values.forEach((value, index) => expect(a.get(row)?.[index]).toBeCloseTo(value, 5));
  };
  compare(
    byRow(actual.itemRows, actual.itemEmbedding, D),
    byRow(expected.itemRows, expected.itemEmbedding, D),
  );
  compare(byRow(actual.itemRows, actual.itemBias, 1), byRow(expected.itemRows, expected.itemBias, 1));
  compare(
    byRow(actual.userRows, actual.userEmbedding, D),
    byRow(expected.userRows, expected.userEmbedding, D),
  );
  expected.dense.forEach((gradient, weight) =>
    gradient.forEach((value, index) => expect(actual.dense[weight]?.[index]).toBeCloseTo(value, 5)),
  );
}

describe('data-parallel training steps', () => {
  let model: TwoTowerModel;
  const split = smallSplit();
  const examples = buildExamples(split);
  // A batch with repeated users and targets across its parts.
  const batch = Int32Array.from({ length: 24 }, (_, row) => (row * 7) % examples.users.length);
  const sampled = Int32Array.of(3, 0, 17, 3, 41, 8);

  beforeAll(async () => {
    await initBackend({ force: 'wasm' });
    model = new TwoTowerModel({ ...shape, sequenceLength: N }, undefined, 3);
  });
  afterAll(() => model.dispose());

  it.each([
    ['sampled softmax', false],
    ['full softmax', true],
  ])(
    '%s: a batch cut into parts gives, summed, the whole batch’s loss and gradients (weighted, with negatives)',
    (_name, fullSoftmax) => {
      expect(examples.weighted).toBe(true);
      const weights = weightsOf(model, false);
      const settings = settingsFor(fullSoftmax, true);
      const random = new SeededRandom(1);
      const gradientsOf = (parts: number) => {
        const assembler = new BatchAssembler(split, examples, shape, N, fullSoftmax);
        const assembled = assembler.assemble(batch, fullSoftmax ? undefined : sampled, parts);
        expect(assembled).toHaveLength(parts);
        return merge(
          assembled.map((part) => ({
            part,
            gradients: partGradients(weights, shape, part, settings, random),
          })),
        );
      };
      const whole = gradientsOf(1);
      expect(whole.loss).toBeGreaterThan(0);
      expectSameGradients(gradientsOf(2), whole);
      expectSameGradients(gradientsOf(3), whole);
    },
  );

  it('sampled softmax in groups of in-batch negatives: the same gradients however many parts compute them', () => {
    const weights = weightsOf(model, false);
    const settings = settingsFor(false, true);
    const random = new SeededRandom(1);
    const gradientsOf = (parts: number) => {
      const assembler = new BatchAssembler(split, examples, shape, N, false);
      // At most 10 rows a group: three groups of 8 (the batch is 24 rows; groups are cut evenly).
      const assembled = assembler.assemble(batch, sampled, parts, 10);
      expect(assembled.length).toBe(parts <= 3 ? 3 : 6);
      for (const part of assembled) expect(part.parts).toBe(assembled.length);
      return {
        assembled,
        merged: merge(
          assembled.map((part) => ({
            part,
            gradients: partGradients(weights, shape, part, settings, random),
          })),
        ),
      };
    };
    const { assembled, merged } = gradientsOf(1);
    // Each part's candidates are its group's targets, then the sampled items.
    const whole = new BatchAssembler(split, examples, shape, N, true).assemble(
      batch,
      undefined,
      1,
    )[0] as BatchPart;
    const groupTargets = [0, 1, 2].map((group) => Array.from(whole.targets.slice(group * 8, group * 8 + 8)));
    assembled.forEach((part, group) => {
      expect(part.firstRow).toBe(0);
      expect(Array.from(part.candidates, (slot) => part.itemRows[slot])).toEqual([
        ...(groupTargets[group] as number[]),
        ...Array.from(sampled, (item) => item + 1),
      ]);
    });
    expectSameGradients(gradientsOf(2).merged, merged);
    expectSameGradients(gradientsOf(6).merged, merged);
    // A group of the whole batch is the batch's own in-batch softmax: a different (not a smaller) loss.
    const wholeBatch = new BatchAssembler(split, examples, shape, N, false).assemble(batch, sampled, 1);
    const wholeLoss = partGradients(weights, shape, wholeBatch[0] as BatchPart, settings, random).loss;
    expect(Math.abs(wholeLoss - merged.loss)).toBeGreaterThan(1e-4);
  });

  it('gives every part local item rows that map back to the model rows, with padding as local row 0', () => {
    const assembler = new BatchAssembler(split, examples, shape, N, false);
    const wholeContext = new BatchAssembler(split, examples, shape, N, true).assemble(batch, undefined, 2);
    const parts = assembler.assemble(batch, sampled, 2);
    parts.forEach((part, index) => {
      // The user tower masks local row 0 as padding: it must be the padding row (model row 0) in every part.
      expect(part.itemRows[0]).toBe(0);
      const modelContext = (wholeContext[index] as BatchPart).context;
      expect(modelContext.some((row) => row === 0)).toBe(true);
      expect(Array.from(part.context, (slot) => part.itemRows[slot])).toEqual(Array.from(modelContext));
      expect(Array.from(part.candidates, (slot) => part.itemRows[slot])).toEqual([
        ...Array.from(batch, (_, row) => (wholeContext[0] as BatchPart).candidates[row]),
        ...Array.from(sampled, (item) => item + 1),
      ]);
    });
  });

  it('threads that each update their share of the touched rows give exactly the one-thread update, in any order', () => {
    const weights = weightsOf(model, false);
    const settings = settingsFor(false, true);
    const random = new SeededRandom(1);
    const parts = new BatchAssembler(split, examples, shape, N, false).assemble(batch, sampled, 3);
    const gradients = parts.map((part) => partGradients(weights, shape, part, settings, random));
    const plan = new MergePlanner(NUM_ITEMS + 1, NUM_USERS + 1).plan(parts);
    // Parts share rows: the plan's rows are their union, each once.
    expect(new Set(plan.itemRows).size).toBe(plan.itemRows.length);
    expect(plan.itemRows.length).toBeLessThan(parts.reduce((total, part) => total + part.itemRows.length, 0));
    const adam = { ...ADAM_DEFAULTS, learningRate: 0.05 };
    const share = (thread: number, threads: number) => ({
      item: rowShare(plan.itemRows.length, thread, threads),
      user: rowShare(plan.userRows.length, thread, threads),
    });
    const oneThread = rowSparseTablesOf(weights);
    updateRowShare(oneThread, plan, gradients, share(0, 1), 7, adam);
    const threeThreads = rowSparseTablesOf(weights);
    for (const thread of [2, 0, 1]) updateRowShare(threeThreads, plan, gradients, share(thread, 3), 7, adam);
    expect(tableState(threeThreads)).toEqual(tableState(oneThread));
    // The update moved every touched row and no other.
    const before = weights.get('item_embedding')?.values as Float32Array;
    const touched = new Set(plan.itemRows);
    for (let row = 0; row <= NUM_ITEMS; row++) {
      const moved = oneThread.itemEmbedding.values[row * D] !== before[row * D];
      expect(moved).toBe(touched.has(row));
    }
  });

  it('a gradient worker applies its share of the update to the shared tables exactly as the training thread would', async () => {
    const weights = weightsOf(model, true);
    const settings = settingsFor(false, true);
    const parts = new BatchAssembler(split, examples, shape, N, false).assemble(batch, sampled, 2);
    const plan = new MergePlanner(NUM_ITEMS + 1, NUM_USERS + 1).plan(parts);
    const slots = parts.map((part) => slotFor(weights, part));
    const gradients = parts.map((part, index) =>
      partGradients(weights, shape, part, settings, new SeededRandom(index), slots[index]),
    );
    const adam = { ...ADAM_DEFAULTS, learningRate: 0.05 };
    const share = (thread: number) => ({
      item: rowShare(plan.itemRows.length, thread, 2),
      user: rowShare(plan.userRows.length, thread, 2),
    });
    const expected = rowSparseTablesOf(weights);
    updateRowShare(expected, plan, gradients, share(0), 3, adam);
    updateRowShare(expected, plan, gradients, share(1), 3, adam);
    const shared = rowSparseTablesOf(weights);
    const asWeights: WeightArrays = new Map(
      [...weights].map(([name, weight]) => {
        const table = {
          item_embedding: shared.itemEmbedding,
          item_bias: shared.itemBias,
          user_embedding: shared.userEmbedding,
        }[name];
        return [name, { ...weight, values: table?.values ?? weight.values }];
      }),
    );
    const moments = new Map([
      ['item_embedding', shared.itemEmbedding.moments],
      ['item_bias', shared.itemBias.moments],
      ['user_embedding', shared.userEmbedding.moments],
    ]);
    const workers = await GradientWorkers.start(1, 'wasm', shape, asWeights, settings, [1], {
      moments,
      adam,
    });
    try {
      const theirs = workers.update(0, { step: 3, plan, slots, share: share(1) });
      updateRowShare(shared, plan, gradients, share(0), 3, adam);
      await theirs;
    } finally {
      await workers.close();
    }
    expect(tableState(shared)).toEqual(tableState(expected));
  });

  it('a gradient worker computes a part exactly as the training thread does, reading the shared tables', async () => {
    const weights = weightsOf(model, true);
    const settings = settingsFor(false, true);
    const assembler = new BatchAssembler(split, examples, shape, N, false);
    const second = assembler.assemble(batch, sampled, 2)[1] as BatchPart;
    const workers = await GradientWorkers.start(1, 'wasm', shape, weights, settings, [9]);
    try {
      const local = partGradients(weights, shape, second, settings, new SeededRandom(9));
      const remote = await workers.gradients(0, structuredClone(second), slotFor(weights, second));
      expect(remote.loss).toBeCloseTo(local.loss, 6);
      expect([...remote.itemEmbedding]).toEqual([...local.itemEmbedding]);
      expect([...remote.userEmbedding]).toEqual([...local.userEmbedding]);
      remote.dense.forEach((gradient, index) =>
        expect([...gradient]).toEqual([...(local.dense[index] ?? [])]),
      );
      // The training thread's writes between steps are what the worker reads next.
      weights.get('item_embedding')?.values.fill(0.5);
      const after = await workers.gradients(0, structuredClone(second), slotFor(weights, second));
      const localAfter = partGradients(weights, shape, second, settings, new SeededRandom(9));
      expect(after.loss).toBeCloseTo(localAfter.loss, 6);
      expect(after.loss).not.toBeCloseTo(remote.loss, 3);
    } finally {
      await workers.close();
    }
  });

  it('a worker that fails reports the error instead of hanging the step', async () => {
    const weights = weightsOf(model, true);
    const workers = await GradientWorkers.start(1, 'wasm', shape, weights, settingsFor(false, false), [1]);
    try {
      const [part] = new BatchAssembler(split, examples, shape, N, false).assemble(batch, sampled, 1);
      const broken = { ...(part as BatchPart), context: new Int32Array(3) }; // not size × N
      await expect(workers.gradients(0, broken, slotFor(weights, broken))).rejects.toThrow(
        /gradient worker failed/,
      );
    } finally {
      await workers.close();
    }
  });

  it('a worker thread that dies mid-step fails the step with the exit, not a hang', async () => {
    const weights = weightsOf(model, true);
    const workers = await GradientWorkers.start(1, 'wasm', shape, weights, settingsFor(false, false), [1]);
    const [part] = new BatchAssembler(split, examples, shape, N, false).assemble(batch, sampled, 1);
    const pending = workers.gradients(0, part as BatchPart, slotFor(weights, part as BatchPart));
    await workers.close();
    await expect(pending).rejects.toThrow(/gradient worker exited with code 1/);
  });

  it('wasm Identity shares the data by reference: a clone outlives its source and costs no copy', () => {
    const source = tf.tensor1d([1, 2, 3]);
    const before = tf.memory().numDataBuffers;
    const copy = tf.clone(source);
    expect(tf.memory().numDataBuffers).toBe(before);
    source.dispose();
    expect([...copy.dataSync()]).toEqual([1, 2, 3]);
    copy.dispose();
  });
});
