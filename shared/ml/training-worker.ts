import { parentPort, workerData } from 'node:worker_threads';
import { SeededRandom } from '../data/random';
import { initBackend } from './backend';
import type { GradientWorkerInit, GradientWorkerReply, GradientWorkerRequest } from './gradient-workers';
import { LazyAdamTable } from './lazy-adam';
import { gradientViews, type RowSparseTables, updateRowShare } from './merged-update';
import { partGradients, type WeightArrays } from './training-step';

/**
 * A gradient worker's thread (see `gradient-workers.ts`): its own TF.js backend, the training tables read from
 * shared memory, and per message either one part of a step's batch (its gradient written into a shared slot) or
 * its share of the step's row-sparse update. Every thread writes only its own rows, and only once every part of
 * the step is in.
 */
async function run(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('training-worker runs as a worker thread');
  const init = workerData as GradientWorkerInit;
  await initBackend({ force: init.backend });
  const weights: WeightArrays = new Map(
    init.weights.map((weight) => [
      weight.name,
      { values: new Float32Array(weight.buffer), shape: weight.shape },
    ]),
  );
  const tables = rowSparseTables(init);
  const random = new SeededRandom(init.seed);
  port.on('message', (request: GradientWorkerRequest) => {
    let reply: GradientWorkerReply;
    try {
      if (request.kind === 'part') {
        const { slot } = request;
        reply = { loss: partGradients(weights, init.shape, request.part, init.settings, random, slot).loss };
      } else {
        if (!tables || !init.adam) throw new Error('this worker was started without the tables to update');
        const gradients = request.slots.map((slot) => gradientViews(slot, 0));
        updateRowShare(tables, request.plan, gradients, request.share, request.step, init.adam);
        reply = { updated: true };
      }
    } catch (error) {
      reply = { error: errorText(error) };
    }
    port.postMessage(reply);
  });
  port.postMessage({ ready: true });
}

/** The row-sparse tables with their shared moments, when the training thread shares them. */
function rowSparseTables(init: GradientWorkerInit): RowSparseTables | undefined {
  const table = (name: string) => {
    const weight = init.weights.find((candidate) => candidate.name === name);
    if (!weight?.moments) return undefined;
    const values = new Float32Array(weight.buffer);
    const width = weight.shape.slice(1).reduce((product, size) => product * size, 1);
    return new LazyAdamTable(values, width, {
      first: new Float32Array(weight.moments.first),
      second: new Float32Array(weight.moments.second),
    });
  };
  const itemEmbedding = table('item_embedding');
  const itemBias = table('item_bias');
  const userEmbedding = table('user_embedding');
  return itemEmbedding && itemBias && userEmbedding ? { itemEmbedding, itemBias, userEmbedding } : undefined;
}

/** What the training thread reports for a worker's error: its stack, where the failure happened. */
function errorText(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

run().catch((error: unknown) => {
  parentPort?.postMessage({ error: errorText(error) });
});
