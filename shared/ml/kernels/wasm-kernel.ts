import type * as tf from '@tensorflow/tfjs';

/** What the project's wasm kernels use of the wasm backend: its heap, as TensorInfo-addressed typed arrays. */
export interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: object): void;
}

export interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}

/** Runs the kernel a replacement took the place of (for the inputs the replacement leaves to it). */
export type StockKernel = (args: KernelArgs) => tf.TensorInfo;

const replacements = new WeakSet<object>();

/**
 * Puts `implementation` in place of the wasm backend's kernel `name`, handing it the stock kernel to fall back
 * to. Safe to call twice: a kernel already replaced stays as it is.
 */
export function replaceWasmKernel(
  tfjs: typeof tf,
  name: string,
  implementation: (args: KernelArgs, stock: StockKernel) => tf.TensorInfo | tf.TensorInfo[],
): void {
  const current = tfjs.getKernel(name, 'wasm');
  if (!current || replacements.has(current.kernelFunc)) return;
  const stock: StockKernel = (args) => current.kernelFunc(args as never) as tf.TensorInfo;
  const kernelFunc = (args: KernelArgs) => implementation(args, stock);
  replacements.add(kernelFunc);
  tfjs.unregisterKernel(name, 'wasm');
  tfjs.registerKernel({ ...current, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
}

/** The backend of a wasm kernel call, with the heap access above. */
export function wasmBackendOf(args: KernelArgs): WasmBackendLike {
  return args.backend as WasmBackendLike;
}

export type TypedValues = Float32Array | Int32Array | Uint8Array;

/**
 * Copies runs of values from `from` into `into` (indices within each view). Views of one buffer — the wasm heap —
 * copy within it: `TypedArray.set` from a view of the same buffer first clones its source, a fresh array per call.
 */
export function valueCopier(
  from: TypedValues,
  into: TypedValues,
): (fromIndex: number, intoIndex: number, length: number) => void {
  if (from.buffer !== into.buffer)
    return (fromIndex, intoIndex, length) =>
      into.set(from.subarray(fromIndex, fromIndex + length), intoIndex);
  const heap = new (from.constructor as new (buffer: ArrayBufferLike) => TypedValues)(from.buffer);
  const fromStart = from.byteOffset / from.BYTES_PER_ELEMENT;
  const intoStart = into.byteOffset / into.BYTES_PER_ELEMENT;
  return (fromIndex, intoIndex, length) =>
    heap.copyWithin(intoStart + intoIndex, fromStart + fromIndex, fromStart + fromIndex + length);
}
