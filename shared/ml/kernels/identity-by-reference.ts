import type * as tf from '@tensorflow/tfjs';
import { type KernelArgs, replaceWasmKernel, type StockKernel } from './wasm-kernel';

/**
 * `Identity` for the `wasm` backend without the copy. TF.js clones (Identity) every tensor a kernel saves for its
 * gradient — about 100 per two-tower training step, each a memcpy of up to [10,240, 64] floats (2.2 ms and the
 * memory traffic a second training thread competes for). Tensors are immutable, so the clone can share the data
 * with a reference count, as the `cpu` backend's Identity does; a variable's assign replaces its data, it never
 * writes into it.
 */
function identityByReference(args: KernelArgs, stock: StockKernel): tf.TensorInfo {
  const x = args.inputs.x;
  if (!x || x.dtype === 'string') return stock(args);
  (args.backend as { incRef(dataId: object): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** Replaces the wasm backend's `Identity` with the by-reference one; safe to call twice. */
export function registerWasmIdentity(tfjs: typeof tf): void {
  replaceWasmKernel(tfjs, 'Identity', identityByReference);
}
