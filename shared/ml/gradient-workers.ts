import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type * as EsbuildApi from 'esbuild';
import type { BackendName } from './backend';
import type { BatchPart, PartGradients } from './batch-parts';
import type { LossSettings, StepShape, WeightArrays } from './training-step';

/**
 * Data-parallel training steps on one machine: each step's batch is cut into parts by rows; the training thread
 * computes one part and each gradient worker (a worker thread with its own TF.js backend) another, and the
 * gradients are summed (`training-step.ts` shows why the sum is the whole batch's gradient). The weight tables live
 * in SharedArrayBuffers: a worker reads the rows its part touches from them directly, and only the training
 * thread writes them, between steps. On this 2-core machine two parts nearly halve a step: its ~400 small TF.js
 * kernels and their bookkeeping are single-threaded JavaScript, which XNNPACK's threads would not spread.
 */
export interface GradientWorkerInit {
  readonly backend: BackendName;
  readonly shape: StepShape;
  readonly weights: readonly { name: string; shape: readonly number[]; buffer: SharedArrayBuffer }[];
  readonly settings: LossSettings;
  /** Seeds the worker's dropout masks. */
  readonly seed: number;
}

export type GradientWorkerReply = { gradients: PartGradients; error?: undefined } | { error: string };

/** Parts a step is cut into: one per core on wasm and cpu; 1 on native TensorFlow, which threads its own kernels. */
export function defaultTrainingThreads(backend: string): number {
  if (backend === 'tensorflow') return 1;
  return Math.max(1, Math.min(availableParallelism(), 8));
}

/** Weight tables in shared memory, so gradient workers read the training thread's current values. */
export function sharedCopy(values: Float32Array): Float32Array {
  const shared = new Float32Array(new SharedArrayBuffer(values.byteLength));
  shared.set(values);
  return shared;
}

export class GradientWorkers {
  private constructor(private readonly workers: Worker[]) {}

  /** Starts `count` workers over the shared `weights` (each Float32Array's buffer must be a SharedArrayBuffer). */
  static async start(
    count: number,
    backend: BackendName,
    shape: StepShape,
    weights: WeightArrays,
    settings: LossSettings,
    seeds: readonly number[],
  ): Promise<GradientWorkers> {
    const script = workerScript();
    const shared = [...weights].map(([name, weight]) => {
      if (!(weight.values.buffer instanceof SharedArrayBuffer))
        throw new Error(`weight ${name} is not in shared memory`);
      return { name, shape: weight.shape, buffer: weight.values.buffer };
    });
    const workers = Array.from({ length: count }, (_, index) => {
      const init: GradientWorkerInit = {
        backend,
        shape,
        weights: shared,
        settings,
        seed: seeds[index] as number,
      };
      return new Worker(script, { workerData: init });
    });
    const pool = new GradientWorkers(workers);
    try {
      await Promise.all(workers.map((worker) => pool.nextReply(worker)));
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  get size(): number {
    return this.workers.length;
  }

  /** Worker `index`'s gradient of `part` (the part's arrays are moved to the worker). */
  gradients(index: number, part: BatchPart): Promise<PartGradients> {
    const worker = this.workers[index] as Worker;
    const reply = this.nextReply(worker) as Promise<{ gradients: PartGradients }>;
    worker.postMessage(part, partBuffers(part));
    return reply.then((answer) => answer.gradients);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }

  /** The worker's next message; an error message, an uncaught error or the thread's exit rejects it. */
  private nextReply(worker: Worker): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const settle = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      const onMessage = (message: GradientWorkerReply | { ready: true }) => {
        settle();
        if ('error' in message && message.error !== undefined)
          reject(new Error(`gradient worker failed: ${message.error}`));
        else resolve(message);
      };
      const onError = (error: Error) => {
        settle();
        reject(new Error(`gradient worker failed: ${error.message}`));
      };
      // A thread that dies without a word (out of memory, terminated) must not leave the step waiting.
      const onExit = (code: number) => {
        settle();
        reject(new Error(`gradient worker exited with code ${code}`));
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
  }
}

function partBuffers(part: BatchPart): ArrayBuffer[] {
  // The item and user rows are copied, not moved: the training thread merges the gradients by them.
  const arrays = [part.context, part.users, part.targets, part.candidates, part.weights, part.positive];
  return arrays.map((array) => array.buffer as ArrayBuffer);
}

/**
 * The worker's script: `training-worker.js` beside this module in a bundle (the training image builds it next
 * to train.js), else the TypeScript source bundled by esbuild into node_modules/.cache (its packages stay external,
 * resolved from the repository's node_modules), keyed by the bundle's content.
 */
function workerScript(): string {
  const prebuilt = join(__dirname, 'training-worker.js');
  if (existsSync(prebuilt)) return prebuilt;
  // A variable module name keeps bundlers from pulling the build tool into a bundle (which has the script).
  const buildTool = 'esbuild';
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a build tool, only where the sources are
  const esbuild = require(buildTool) as typeof EsbuildApi;
  const built = esbuild.buildSync({
    entryPoints: [join(__dirname, 'training-worker.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    write: false,
    logLevel: 'error',
  });
  const code = (built.outputFiles[0] as { contents: Uint8Array }).contents;
  const directory = join(__dirname, '..', '..', 'node_modules', '.cache', 'mappa-training-worker');
  const file = join(directory, `${createHash('sha256').update(code).digest('hex').slice(0, 20)}.cjs`);
  if (!existsSync(file)) {
    mkdirSync(directory, { recursive: true });
    const partial = `${file}.${process.pid}.tmp`;
    writeFileSync(partial, code);
    renameSync(partial, file);
  }
  return file;
}
