import * as tf from '@tensorflow/tfjs';
import { registerScatterAddKernel } from './kernels/scatter-add-segment-sum';
import { registerWasmGatherRows } from './kernels/gather-rows';
import { registerWasmBatchMatMul } from './kernels/wasm-batch-matmul';
import { registerWasmTanh } from './kernels/tanh-via-sigmoid';
import { registerWasmColumnSum } from './kernels/column-sum';
import { registerWasmIdentity } from './kernels/identity-by-reference';
import { registerWasmSlice } from './kernels/slice-in-place';

/**
 * TF.js backend selection, in one place. Model and data code import
 * `@tensorflow/tfjs` only; entry points call `initBackend()` once.
 *
 * Order: native `tensorflow` (tfjs-node, installed in the Fargate training
 * image) when it loads, else `wasm`, else the pure-JS `cpu`. `wasm` and `cpu`
 * get the linear-time scatter-add kernel so Embedding gradients are fast there.
 */
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

/** The npm package that provides the native backend; never bundled, only installed in the image. */
export const NATIVE_BACKEND_PACKAGE = '@tensorflow/tfjs-node';

export interface BackendSelection {
  readonly backend: BackendName;
  /** Why the preferred backends were skipped, for the run log. */
  readonly skipped: readonly { backend: BackendName; reason: string }[];
}

export interface BackendOptions {
  /** Force one backend (e.g. from MAPPA_TF_BACKEND); failing to start it is an error. */
  readonly force?: BackendName;
  /** Loads the native binding; injectable so tests can simulate a present/absent tfjs-node. */
  readonly loadNative?: () => unknown;
  /** Loads the wasm backend module (registers the backend as a side effect). */
  readonly loadWasm?: () => unknown;
}

function defaultLoadNative(): unknown {
  // A variable module name keeps bundlers and the type-checker from resolving it:
  // tfjs-node exists only in the training image.
  const moduleName = NATIVE_BACKEND_PACKAGE;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional at run time, see above
  return require(moduleName);
}

function defaultLoadWasm(): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when selected: it compiles a wasm module
  return require('@tensorflow/tfjs-backend-wasm');
}

async function tryBackend(name: BackendName, options: BackendOptions): Promise<void> {
  if (name === 'tensorflow') (options.loadNative ?? defaultLoadNative)();
  if (name === 'wasm') (options.loadWasm ?? defaultLoadWasm)();
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tf.setBackend('${name}') returned false`);
  await tf.ready();
  registerScatterAddKernel(tf, name);
  if (name === 'wasm') {
    registerWasmBatchMatMul(tf);
    registerWasmGatherRows(tf);
    registerWasmTanh(tf);
    registerWasmColumnSum(tf);
    registerWasmIdentity(tf);
    registerWasmSlice(tf);
  }
}

/** Parses a backend name from configuration, or `undefined` for automatic choice. */
export function parseBackendName(raw: string | undefined): BackendName | undefined {
  if (raw === undefined || raw === '' || raw === 'auto') return undefined;
  if ((BACKEND_NAMES as readonly string[]).includes(raw)) return raw as BackendName;
  throw new Error(`Unknown TF.js backend '${raw}'; expected one of ${BACKEND_NAMES.join(', ')} or auto`);
}

/** Selects and initialises the fastest available backend (see module comment). */
export async function initBackend(options: BackendOptions = {}): Promise<BackendSelection> {
  if (options.force) {
    await tryBackend(options.force, options);
    return { backend: options.force, skipped: [] };
  }
  const skipped: { backend: BackendName; reason: string }[] = [];
  for (const name of BACKEND_NAMES) {
    try {
      await tryBackend(name, options);
      return { backend: name, skipped };
    } catch (error) {
      skipped.push({
        backend: name,
        reason: error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error),
      });
    }
  }
  throw new Error(
    `No TF.js backend could start: ${skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ')}`,
  );
}
