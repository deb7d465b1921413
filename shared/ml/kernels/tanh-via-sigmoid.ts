import type * as tf from '@tensorflow/tfjs';
import { type KernelArgs, replaceWasmKernel, type StockKernel, wasmBackendOf } from './wasm-kernel';

/**
 * `Tanh` for the `wasm` backend as 2·σ(2x) − 1. The stock wasm Tanh calls the C library per element
 * (12 ms for the 10,240 × 64 attention layer of an ml-100k batch) while its Sigmoid is XNNPACK's vectorised
 * one (0.7 ms); the identity costs two linear passes in JS. Absolute error ~1e-7 (float32 rounding of σ).
 */
function wasmTanh(sigmoidKernel: tf.KernelConfig, args: KernelArgs, stock: StockKernel): tf.TensorInfo {
  const x = args.inputs.x;
  if (!x || x.dtype !== 'float32') return stock(args);
  const backend = wasmBackendOf(args);
  const doubled = backend.makeOutput([...x.shape], 'float32');
  // Views are taken after each allocation: growing the wasm heap detaches earlier ones.
  const source = backend.typedArrayFromHeap(x);
  const twice = backend.typedArrayFromHeap(doubled);
  for (let index = 0; index < twice.length; index++) twice[index] = 2 * (source[index] as number);
  try {
    const output = sigmoidKernel.kernelFunc({
      inputs: { x: doubled },
      backend: args.backend,
      attrs: {},
    } as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    const values = backend.typedArrayFromHeap(output);
    for (let index = 0; index < values.length; index++) values[index] = 2 * (values[index] as number) - 1;
    return output;
  } finally {
    backend.disposeData(doubled.dataId);
  }
}

/** Replaces the wasm backend's `Tanh` (the stock one stays the fallback for other dtypes). */
export function registerWasmTanh(tfjs: typeof tf): void {
  const sigmoid = tfjs.getKernel('Sigmoid', 'wasm');
  if (sigmoid) replaceWasmKernel(tfjs, 'Tanh', (args, stock) => wasmTanh(sigmoid, args, stock));
}
