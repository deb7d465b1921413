import { SOFTMAX_ROWS_WASM_BASE64 } from './softmax-rows-wasm';

interface SoftmaxRowsExports {
  readonly memory: WebAssembly.Memory;
  softmax_rows(
    matrix: number,
    rows: number,
    stride: number,
    scales: number,
    stats: number,
    columns: number,
  ): void;
}

const PAGE = 65_536;
let compiled: WebAssembly.Module | undefined;
let instance: SoftmaxRowsExports | undefined;

/** Each row's max and the sum of exp(x − max) over it; the column sums of the result. */
export interface RowStats {
  readonly max: Float32Array;
  readonly sum: Float32Array;
  readonly columnSums: Float32Array;
}

/**
 * Each row of `matrix` ([rows × columns], row-major; −Infinity for a column left out) replaced, in place, by its
 * softmax times `scales[row]` (the column sums of the result returned with the rows' stats), through the vectorised loop of `softmax-rows.wat`. One module instance per thread,
 * its memory grown to the largest matrix seen.
 */
export function softmaxRowsInPlace(
  matrix: Float32Array,
  rows: number,
  columns: number,
  scales: Float32Array,
): RowStats {
  const stride = Math.ceil(columns / 4) * 4;
  const matrixBytes = rows * stride * 4;
  const needed = matrixBytes + rows * 12 + stride * 4;
  compiled ??= new WebAssembly.Module(Buffer.from(SOFTMAX_ROWS_WASM_BASE64, 'base64'));
  instance ??= new WebAssembly.Instance(compiled).exports as unknown as SoftmaxRowsExports;
  const pages = Math.ceil(needed / PAGE) - instance.memory.buffer.byteLength / PAGE;
  if (pages > 0) instance.memory.grow(pages);
  const memory = instance.memory.buffer;
  const padded = new Float32Array(memory, 0, rows * stride);
  if (stride === columns) padded.set(matrix);
  else
    for (let row = 0; row < rows; row++) {
      padded.set(matrix.subarray(row * columns, (row + 1) * columns), row * stride);
      padded.fill(-Infinity, row * stride + columns, (row + 1) * stride);
    }
  new Float32Array(memory, matrixBytes, rows).set(scales);
  const columnsAt = matrixBytes + rows * 12;
  new Float32Array(memory, columnsAt, stride).fill(0);
  instance.softmax_rows(0, rows, stride, matrixBytes, matrixBytes + rows * 4, columnsAt);
  if (stride === columns) matrix.set(padded);
  else
    for (let row = 0; row < rows; row++)
      matrix.set(padded.subarray(row * stride, row * stride + columns), row * columns);
  const stats = new Float32Array(memory, matrixBytes + rows * 4, rows * 2);
  const max = new Float32Array(rows);
  const sum = new Float32Array(rows);
  for (let row = 0; row < rows; row++) {
    max[row] = stats[2 * row] as number;
    sum[row] = stats[2 * row + 1] as number;
  }
  return { max, sum, columnSums: new Float32Array(memory, columnsAt, columns).slice() };
}
