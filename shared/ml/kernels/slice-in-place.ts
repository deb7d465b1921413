import type * as tf from '@tensorflow/tfjs';
import {
  type KernelArgs,
  replaceWasmKernel,
  type StockKernel,
  valueCopier,
  wasmBackendOf,
} from './wasm-kernel';

/**
 * `Slice` and `SplitV` of a 1-D or 2-D tensor for the `wasm` backend, read in place from the heap. The stock
 * kernels first copy the whole input out of the heap (`readSync`, a fresh array) for every slice: the gradient of a
 * concatenation splits it into slices, so a training part copied its [512 × 193] output-layer input out once per
 * piece — splitting it in two took 2 ms, and the fresh arrays' external-memory pressure set off V8's garbage
 * collections. Higher ranks and strings go to the stock kernels.
 */
function sliceInPlace(args: KernelArgs, stock: StockKernel): tf.TensorInfo {
  const x = args.inputs.x;
  return x && inPlace(x) ? sliceOf(x, args) : stock(args);
}

/** What the in-place kernels take: 1-D and 2-D numeric tensors. */
function inPlace(x: tf.TensorInfo): boolean {
  return x.dtype !== 'string' && x.shape.length >= 1 && x.shape.length <= 2;
}

/** The slice of `x` (1-D or 2-D) that `args`' begin and size attributes give. */
function sliceOf(x: tf.TensorInfo, args: KernelArgs): tf.TensorInfo {
  const rank = x.shape.length;
  const shape = rank === 1 ? [1, x.shape[0] as number] : (x.shape as [number, number]);
  const begin = asList(args.attrs?.begin, rank, 0);
  const size = asList(args.attrs?.size, rank, -1);
  const [beginRow, beginColumn] = rank === 1 ? [0, begin[0] as number] : (begin as [number, number]);
  const sizes = size.map((length, axis) =>
    length === -1 ? (x.shape[axis] as number) - (begin[axis] as number) : length,
  );
  const [rows, columns] = rank === 1 ? [1, sizes[0] as number] : (sizes as [number, number]);
  const backend = wasmBackendOf(args);
  // Allocate first: growing the wasm heap detaches earlier views of it.
  const output = backend.makeOutput(sizes, x.dtype);
  const width = shape[1] as number;
  const copy = valueCopier(backend.typedArrayFromHeap(x), backend.typedArrayFromHeap(output));
  if (columns === width) copy(beginRow * width, 0, rows * width);
  else
    for (let row = 0; row < rows; row++) copy((beginRow + row) * width + beginColumn, row * columns, columns);
  return output;
}

/** A slice attribute as one number per axis: a number stands for the first axis, missing axes take `fill`. */
function asList(value: unknown, rank: number, fill: number): number[] {
  const given = Array.isArray(value) ? (value as number[]) : value === undefined ? [] : [Number(value)];
  return Array.from({ length: rank }, (_, axis) => given[axis] ?? fill);
}

/** Pieces along an axis, each a slice in place (the stock `SplitV` slices through the copying kernel). */
function splitInPlace(
  tfjs: typeof tf,
  args: KernelArgs,
  stock: StockKernel,
): tf.TensorInfo | tf.TensorInfo[] {
  const x = args.inputs.x;
  if (!x || !inPlace(x)) return stock(args);
  const axis = tfjs.util.parseAxisParam(args.attrs?.axis as number, x.shape)[0] as number;
  const sizes = tfjs.backend_util.prepareSplitSize(
    x as tf.Tensor,
    args.attrs?.numOrSizeSplits as number | number[],
    axis,
  );
  const begin = x.shape.map(() => 0);
  return sizes.map((length) => {
    const size = [...x.shape];
    size[axis] = length;
    const piece = sliceInPlace(
      { inputs: { x }, backend: args.backend, attrs: { begin: [...begin], size } },
      stock,
    );
    begin[axis] = (begin[axis] as number) + length;
    return piece;
  });
}

/** Replaces the wasm backend's `Slice` and `SplitV` with the in-place ones (the stock ones stay the fallback). */
export function registerWasmSlice(tfjs: typeof tf): void {
  replaceWasmKernel(tfjs, 'Slice', sliceInPlace);
  replaceWasmKernel(tfjs, 'SplitV', (args, stock) => splitInPlace(tfjs, args, stock));
}
