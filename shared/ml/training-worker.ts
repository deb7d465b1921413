import { parentPort, workerData } from 'node:worker_threads';
import { SeededRandom } from '../data/random';
import { initBackend } from './backend';
import type { GradientWorkerInit, GradientWorkerReply } from './gradient-workers';
import type { BatchPart } from './batch-parts';
import { partGradients, type WeightArrays } from './training-step';

/**
 * A gradient worker's thread (see `gradient-workers.ts`): its own TF.js backend, the training tables read from
 * shared memory, and one part of each step's batch computed per message. The tables are written only by the
 * training thread, between steps, while no part is out.
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
  const random = new SeededRandom(init.seed);
  port.on('message', (part: BatchPart) => {
    let reply: GradientWorkerReply;
    try {
      reply = { gradients: partGradients(weights, init.shape, part, init.settings, random) };
    } catch (error) {
      reply = { error: errorText(error) };
      port.postMessage(reply);
      return;
    }
    const { loss, itemEmbedding, itemBias, userEmbedding, dense } = reply.gradients;
    const moved = {
      loss,
      itemEmbedding: ownBuffer(itemEmbedding),
      itemBias: ownBuffer(itemBias),
      userEmbedding: ownBuffer(userEmbedding),
      dense: dense.map(ownBuffer),
    };
    port.postMessage(
      { gradients: moved },
      [moved.itemEmbedding, moved.itemBias, moved.userEmbedding, ...moved.dense].map((array) => array.buffer),
    );
  });
  port.postMessage({ ready: true });
}

/** The array on a buffer of its own (a backend may hand out a view of a larger one), so it can be moved. */
function ownBuffer(array: Float32Array): Float32Array<ArrayBuffer> {
  return array.byteOffset === 0 &&
    array.buffer.byteLength === array.byteLength &&
    array.buffer instanceof ArrayBuffer
    ? (array as Float32Array<ArrayBuffer>)
    : array.slice();
}

/** What the training thread reports for a worker's error: its stack, where the failure happened. */
function errorText(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

run().catch((error: unknown) => {
  parentPort?.postMessage({ error: errorText(error) });
});
