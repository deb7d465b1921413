import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type * as EsbuildApi from 'esbuild';
import type { BackendName } from './backend';
import type { BatchPart, PartGradients } from './batch-parts';
import type { AdamMoments, AdamSettings } from './lazy-adam';
import { type GradientSlot, gradientViews, type MergePlan, type RowShare } from './merged-update';
import type { LossSettings, StepShape, WeightArrays } from './training-step';

/**
 * Data-parallel training steps on one machine: each step's batch is cut into parts by rows; the training thread
 * computes one part and each gradient worker (a worker thread with its own TF.js backend) another, and the
 * gradients are summed (`training-step.ts` shows why the sum is the whole batch's gradient). The weight tables live
 * in SharedArrayBuffers: a worker reads the rows its part touches from them directly. A part's gradient goes
 * into shared memory too, and once every part is in, each thread sums and applies the update to its own share of
 * the rows the step touched (`merged-update.ts`); the dense weights are the training thread's. Nothing writes the
 * tables while a part is being computed. On this 2-core machine two parts nearly halve a step: its ~150 small
 * TF.js kernels and their bookkeeping are single-threaded JavaScript, which XNNPACK's threads would not spread.
 */
export interface GradientWorkerInit {
  readonly backend: BackendName;
  readonly shape: StepShape;
  readonly weights: readonly {
    name: string;
    shape: readonly number[];
    buffer: SharedArrayBuffer;
    /** A row-sparse table's Adam moments, when the worker updates rows. */
    moments?: { first: SharedArrayBuffer; second: SharedArrayBuffer };
  }[];
  readonly settings: LossSettings;
  readonly adam?: AdamSettings;
  /** Seeds the worker's dropout masks. */
  readonly seed: number;
}

/** What a worker is asked: a part's gradient into a shared slot, or its share of a step's row-sparse update. */
export type GradientWorkerRequest =
  | { readonly kind: 'part'; readonly part: BatchPart; readonly slot: GradientSlot }
  | {
      readonly kind: 'update';
      readonly step: number;
      readonly plan: MergePlan;
      readonly slots: readonly GradientSlot[];
      readonly share: RowShare;
    };

export type GradientWorkerReply =
  { loss: number; error?: undefined } | { updated: true; error?: undefined } | { error: string };

/** What lets workers update rows: the row-sparse tables' moments (in shared memory) and the optimizer's settings. */
export interface WorkerUpdates {
  readonly moments: ReadonlyMap<string, AdamMoments>;
  readonly adam: AdamSettings;
}

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
    updates?: WorkerUpdates,
  ): Promise<GradientWorkers> {
    const script = workerScript();
    const inShared = (name: string, array: Float32Array) => {
      if (!(array.buffer instanceof SharedArrayBuffer))
        throw new Error(`weight ${name} is not in shared memory`);
      return array.buffer;
    };
    const shared = [...weights].map(([name, weight]) => {
      const moments = updates?.moments.get(name);
      return {
        name,
        shape: weight.shape,
        buffer: inShared(name, weight.values),
        ...(moments
          ? { moments: { first: inShared(name, moments.first), second: inShared(name, moments.second) } }
          : {}),
      };
    });
    const workers = Array.from({ length: count }, (_, index) => {
      const init: GradientWorkerInit = {
        backend,
        shape,
        weights: shared,
        settings,
        ...(updates ? { adam: updates.adam } : {}),
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

  /**
   * Worker `index`'s gradient of `part`, written into `slot` (in shared memory); the part's arrays are moved to
   * the worker.
   */
  gradients(index: number, part: BatchPart, slot: GradientSlot): Promise<PartGradients> {
    const request: GradientWorkerRequest = { kind: 'part', part, slot };
    return this.ask(index, request, partBuffers(part)).then((answer) =>
      gradientViews(slot, (answer as { loss: number }).loss),
    );
  }

  /** Worker `index` applies its share of a step's row-sparse update (every part's gradient in `slots`). */
  async update(
    index: number,
    request: Omit<Extract<GradientWorkerRequest, { kind: 'update' }>, 'kind'>,
  ): Promise<void> {
    await this.ask(index, { kind: 'update', ...request });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }

  private ask(index: number, request: GradientWorkerRequest, moved: ArrayBuffer[] = []): Promise<unknown> {
    const worker = this.workers[index] as Worker;
    const reply = this.nextReply(worker);
    worker.postMessage(request, moved);
    return reply;
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
