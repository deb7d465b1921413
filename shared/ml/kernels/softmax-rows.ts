import { SOFTMAX_ROWS_WASM_BASE64 } from './softmax-rows-wasm';

interface SoftmaxRowsExports {
  softmax_rows(
    matrix: number,
    rows: number,
    stride: number,
    bias: number,
    scales: number,
    stats: number,
    columns: number,
  ): void;
}

const PAGE = 65_536;
let compiled: WebAssembly.Module | undefined;
/** The module's own memory (one per thread), grown to the largest matrix seen. */
let ownMemory: WebAssembly.Memory | undefined;
/** The module instantiated on each memory it has run on (its own, the TF.js wasm backend's heap). */
const kernels = new WeakMap<WebAssembly.Memory, SoftmaxRowsExports>();

function kernelOn(memory: WebAssembly.Memory): SoftmaxRowsExports {
  let kernel = kernels.get(memory);
  if (!kernel) {
    compiled ??= new WebAssembly.Module(Buffer.from(SOFTMAX_ROWS_WASM_BASE64, 'base64'));
    kernel = new WebAssembly.Instance(compiled, { env: { memory } }).exports as unknown as SoftmaxRowsExports;
    kernels.set(memory, kernel);
  }
  return kernel;
}

/** Each row's max and the sum of exp(x − max) over it (x with the bias added); the column sums of the result. */
export interface RowStats {
  readonly max: Float32Array;
  readonly sum: Float32Array;
  readonly columnSums: Float32Array;
}

/**
 * Each row of `matrix` ([rows × columns], row-major; −Infinity for a column left out) plus `bias` (per column;
 * zeros when omitted) replaced, in place, by its softmax times `scales[row]` (the column sums of the result
 * returned with the rows' stats), through the vectorised loop of `softmax-rows.wat` on the module's own memory
 * (the matrix is copied in and out). `softmaxRowsAt` runs it where the matrix already is.
 */
export function softmaxRowsInPlace(
  matrix: Float32Array,
  rows: number,
  columns: number,
  scales: Float32Array,
  bias?: Float32Array,
): RowStats {
  const stride = Math.ceil(columns / 4) * 4;
  const biasAt = rows * stride * 4;
  const scratchAt = biasAt + stride * 4;
  const needed = scratchAt + softmaxScratchBytes(rows, stride);
  ownMemory ??= new WebAssembly.Memory({ initial: 1 });
  const pages = Math.ceil(needed / PAGE) - ownMemory.buffer.byteLength / PAGE;
  if (pages > 0) ownMemory.grow(pages);
  const memory = ownMemory.buffer;
  const padded = new Float32Array(memory, 0, rows * stride);
  if (stride === columns) padded.set(matrix);
  else
    for (let row = 0; row < rows; row++) {
      padded.set(matrix.subarray(row * columns, (row + 1) * columns), row * stride);
      padded.fill(-Infinity, row * stride + columns, (row + 1) * stride);
    }
  const biasView = new Float32Array(memory, biasAt, stride).fill(0);
  if (bias) biasView.set(bias);
  const stats = runKernel(
    kernelOn(ownMemory),
    memory,
    { matrix: 0, bias: biasAt, scratch: scratchAt },
    rows,
    stride,
    scales,
  );
  if (stride === columns) matrix.set(padded);
  else
    for (let row = 0; row < rows; row++)
      matrix.set(padded.subarray(row * stride, row * stride + columns), row * columns);
  return { ...stats, columnSums: stats.columnSums.subarray(0, columns) };
}

/** Byte offsets in a wasm memory: the matrix, the bias, and scratch for `softmaxScratchBytes(rows, columns)`. */
export interface SoftmaxRowsPlace {
  readonly matrix: number;
  readonly bias: number;
  readonly scratch: number;
}

/** Scratch bytes `softmaxRowsAt` needs: each row's scale and stats, each column's sum. */
export function softmaxScratchBytes(rows: number, columns: number): number {
  return rows * 12 + columns * 4;
}

/**
 * `softmaxRowsInPlace` where the matrix and bias already are in `memory` (the TF.js wasm backend's heap): no
 * copies. `columns` must be a multiple of 4 (the loop's vectors); the scratch is the caller's.
 */
export function softmaxRowsAt(
  memory: WebAssembly.Memory,
  place: SoftmaxRowsPlace,
  rows: number,
  columns: number,
  scales: Float32Array,
): RowStats {
  if (columns % 4 !== 0) throw new Error(`softmaxRowsAt needs a multiple of 4 columns, not ${columns}`);
  return runKernel(kernelOn(memory), memory.buffer, place, rows, columns, scales);
}

function runKernel(
  kernel: SoftmaxRowsExports,
  memory: ArrayBufferLike,
  place: SoftmaxRowsPlace,
  rows: number,
  stride: number,
  scales: Float32Array,
): RowStats {
  const scalesAt = place.scratch;
  const statsAt = scalesAt + rows * 4;
  const columnsAt = statsAt + rows * 8;
  new Float32Array(memory, scalesAt, rows).set(scales);
  new Float32Array(memory, columnsAt, stride).fill(0);
  kernel.softmax_rows(place.matrix, rows, stride, place.bias, scalesAt, statsAt, columnsAt);
  const stats = new Float32Array(memory, statsAt, rows * 2);
  const max = new Float32Array(rows);
  const sum = new Float32Array(rows);
  for (let row = 0; row < rows; row++) {
    max[row] = stats[2 * row] as number;
    sum[row] = stats[2 * row + 1] as number;
  }
  return { max, sum, columnSums: new Float32Array(memory, columnsAt, stride).slice() };
}
