import type * as tf from '@tensorflow/tfjs';
import { type KernelArgs, replaceWasmKernel, type StockKernel, wasmBackendOf } from './wasm-kernel';

/**
 * `Sum` over the first axis of a float32 matrix for the `wasm` backend, as one pass over the rows in JS. The
 * stock kernel transposes the matrix first: 1.2 ms for the [2,048, 64] bias gradient of a dense layer (the
 * propensity MLP's every step) against ~0.1 ms here. Every other reduction goes to the stock kernel.
 */
function firstAxisOnly(axis: unknown, rank: number): boolean {
  const axes = Array.isArray(axis) ? axis : [axis];
  return axes.length === 1 && (axes[0] === 0 || axes[0] === -rank);
}

function wasmColumnSum(args: KernelArgs, stock: StockKernel): tf.TensorInfo {
  const x = args.inputs.x;
  if (!x || x.dtype !== 'float32' || x.shape.length !== 2 || !firstAxisOnly(args.attrs?.axis, 2))
    return stock(args);
  const [rows, columns] = x.shape as [number, number];
  const backend = wasmBackendOf(args);
  const output = backend.makeOutput(args.attrs?.keepDims ? [1, columns] : [columns], 'float32');
  // Views after the allocation: growing the wasm heap detaches earlier ones.
  const values = backend.typedArrayFromHeap(x);
  const sums = new Float64Array(columns);
  for (let row = 0; row < rows; row++) {
    const base = row * columns;
    for (let column = 0; column < columns; column++)
      sums[column] = (sums[column] as number) + (values[base + column] as number);
  }
  backend.typedArrayFromHeap(output).set(sums);
  return output;
}

/** Replaces the wasm backend's `Sum` for first-axis sums of matrices (the stock one handles the rest). */
export function registerWasmColumnSum(tfjs: typeof tf): void {
  replaceWasmKernel(tfjs, 'Sum', wasmColumnSum);
}
