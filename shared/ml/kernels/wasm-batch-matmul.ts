import type * as tf from '@tensorflow/tfjs';
import {
  type KernelArgs,
  replaceWasmKernel,
  type StockKernel,
  type WasmBackendLike,
  wasmBackendOf,
} from './wasm-kernel';

/**
 * The wasm backend's `BatchMatMul` is 7–13x slower when an operand is
 * transposed (measured: [256,64]·[1682,64]ᵀ 19 ms vs 2.8 ms pre-transposed).
 * Every gradient of a dot-product model multiplies by a transpose, so this
 * wrapper transposes the operand explicitly (a linear-time copy) and calls the
 * fast non-transposed kernel. A weight gradient Aᵀ·B of a tall A (the batch's rows × a few columns) is
 * computed as (Bᵀ·A)ᵀ when B and the product are smaller than A: two small copies instead of a big one
 * (the logits' gradient [512, 2,560]ᵀ·[512, 65]: 8 ms of transpose → under 1 ms).
 */
/**
 * Aᵀ·b for a column b: Σ_r b[r]·A[r, :], one pass over A's rows. XNNPACK's one-row product is slow for it
 * (the attention query's gradient [10,240, 64]ᵀ·[10,240, 1]: 4.4 ms; this loop under 1 ms).
 */
function columnWeightedSum(backend: WasmBackendLike, a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo {
  const [rows, columns] = a.shape as [number, number];
  const output = backend.makeOutput([columns, 1], 'float32');
  const matrix = backend.typedArrayFromHeap(a);
  const weights = backend.typedArrayFromHeap(b);
  const sums = new Float64Array(columns);
  for (let row = 0; row < rows; row++) {
    const weight = weights[row] as number;
    if (weight === 0) continue;
    const base = row * columns;
    for (let column = 0; column < columns; column++)
      sums[column] = (sums[column] as number) + weight * (matrix[base + column] as number);
  }
  backend.typedArrayFromHeap(output).set(sums);
  return output;
}

function transposeLast(tfjs: typeof tf, x: tf.TensorInfo, backend: unknown): tf.TensorInfo {
  const transpose = tfjs.getKernel('Transpose', 'wasm');
  if (!transpose) throw new Error('wasm backend has no Transpose kernel');
  const rank = x.shape.length;
  const perm = [...Array(rank).keys()];
  perm[rank - 1] = rank - 2;
  perm[rank - 2] = rank - 1;
  return transpose.kernelFunc({ inputs: { x }, backend: backend as never, attrs: { perm } }) as tf.TensorInfo;
}

/** Replaces wasm's BatchMatMul with the transpose-free wrapper; safe to call twice. */
export function registerWasmBatchMatMul(tfjs: typeof tf): void {
  replaceWasmKernel(tfjs, 'BatchMatMul', wrapper);

  function wrapper(args: KernelArgs, stock: StockKernel): tf.TensorInfo {
    const { transposeA, transposeB } = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
    if (!transposeA && !transposeB) return stock(args);
    const backend = wasmBackendOf(args);
    const a = args.inputs.a as tf.TensorInfo;
    const b = args.inputs.b as tf.TensorInfo;
    if (transposeA && !transposeB && a.shape.length === 2 && b.shape.length === 2) {
      const [rows, aColumns] = a.shape as [number, number];
      const bColumns = b.shape[1] as number;
      if (bColumns === 1) return columnWeightedSum(backend, a, b);
      if (rows * bColumns + aColumns * bColumns < rows * aColumns) {
        // Aᵀ·B = (Bᵀ·A)ᵀ
        const swapped = wrapper(
          { ...args, inputs: { a: b, b: a }, attrs: { ...args.attrs, transposeA: true } },
          stock,
        );
        try {
          return transposeLast(tfjs, swapped, args.backend);
        } finally {
          backend.disposeData(swapped.dataId);
        }
      }
    }
    const aReady = transposeA ? transposeLast(tfjs, a, args.backend) : a;
    const bReady = transposeB ? transposeLast(tfjs, b, args.backend) : b;
    try {
      return stock({
        ...args,
        inputs: { ...args.inputs, a: aReady, b: bReady },
        attrs: { ...args.attrs, transposeA: false, transposeB: false },
      });
    } finally {
      if (aReady !== a) backend.disposeData(aReady.dataId);
      if (bReady !== b) backend.disposeData(bReady.dataId);
    }
  }
}
