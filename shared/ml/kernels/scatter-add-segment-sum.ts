import type * as tf from '@tensorflow/tfjs';

/**
 * A linear-time `UnsortedSegmentSum` (scatter-add) for the `cpu` and `wasm`
 * backends.
 *
 * Why: `UnsortedSegmentSum` is the gradient of `gather`, i.e. of every
 * Embedding layer. The stock `cpu` kernel loops over every segment and masks the
 * whole input each time (O(segments × rows)), which caps embedding training at a
 * few hundred examples/s; the `wasm` backend has no such kernel at all, so
 * training an Embedding layer there fails. Scatter-add visits each input row once.
 */

type TypedValues = Float32Array | Int32Array | Uint8Array;

/**
 * out[segmentIds[i], j] += x[i, j] for every row i of x (the leading dimensions
 * x shares with segmentIds flattened into rows). Ids outside [0, numSegments)
 * are skipped, as TensorFlow does.
 */
export function scatterAddRows(
  x: ArrayLike<number>,
  segmentIds: ArrayLike<number>,
  numSegments: number,
  out: TypedValues,
): void {
  const rows = segmentIds.length;
  const width = rows === 0 ? 0 : x.length / rows;
  out.fill(0);
  for (let row = 0; row < rows; row++) {
    const segment = segmentIds[row] as number;
    if (segment < 0 || segment >= numSegments) continue;
    const source = row * width;
    const target = segment * width;
    for (let column = 0; column < width; column++) {
      out[target + column] = (out[target + column] as number) + (x[source + column] as number);
    }
  }
}

interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}

function unpack(args: KernelArgs): {
  x: tf.TensorInfo;
  segmentIds: tf.TensorInfo;
  numSegments: number;
  outShape: number[];
} {
  const x = args.inputs.x;
  const segmentIds = args.inputs.segmentIds;
  const numSegments = Number(args.attrs?.numSegments);
  if (!x || !segmentIds || !Number.isInteger(numSegments)) {
    throw new Error('UnsortedSegmentSum needs inputs x, segmentIds and attr numSegments');
  }
  const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
  return { x, segmentIds, numSegments, outShape };
}

interface CpuBackendLike {
  data: { get(dataId: object): { values: ArrayLike<number> } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: TypedValues): tf.TensorInfo;
}

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): TypedValues;
}

function allocate(dtype: tf.DataType, size: number): TypedValues {
  return dtype === 'int32' ? new Int32Array(size) : new Float32Array(size);
}

function cpuScatterAdd(args: KernelArgs): tf.TensorInfo {
  const { x, segmentIds, numSegments, outShape } = unpack(args);
  const backend = args.backend as CpuBackendLike;
  const out = allocate(
    x.dtype,
    outShape.reduce((a, b) => a * b, 1),
  );
  scatterAddRows(
    backend.data.get(x.dataId).values,
    backend.data.get(segmentIds.dataId).values,
    numSegments,
    out,
  );
  return backend.makeTensorInfo(outShape, x.dtype, out);
}

function wasmScatterAdd(args: KernelArgs): tf.TensorInfo {
  const { x, segmentIds, numSegments, outShape } = unpack(args);
  const backend = args.backend as WasmBackendLike;
  // Allocate first: growing the wasm heap detaches earlier views of it.
  const output = backend.makeOutput(outShape, x.dtype);
  const out = backend.typedArrayFromHeap(output);
  scatterAddRows(backend.typedArrayFromHeap(x), backend.typedArrayFromHeap(segmentIds), numSegments, out);
  return output;
}

const KERNEL_NAME = 'UnsortedSegmentSum';

const IMPLEMENTATIONS: Record<string, (args: KernelArgs) => tf.TensorInfo> = {
  cpu: cpuScatterAdd,
  wasm: wasmScatterAdd,
};

/** Backends this module has a scatter-add kernel for. */
export const SCATTER_ADD_BACKENDS = Object.keys(IMPLEMENTATIONS);

/** The kernels this module replaced, per backend, so they can be restored. */
const replacedKernels = new Map<string, tf.KernelConfig | undefined>();

/**
 * Replaces `UnsortedSegmentSum` on `backendName` with the scatter-add kernel.
 * Returns false when the backend is not one this module covers. Safe to call twice.
 */
export function registerScatterAddKernel(tfjs: typeof tf, backendName: string): boolean {
  const implementation = IMPLEMENTATIONS[backendName];
  if (!implementation) return false;
  const current = tfjs.getKernel(KERNEL_NAME, backendName);
  if (current?.kernelFunc === (implementation as unknown)) return true;
  if (!replacedKernels.has(backendName)) replacedKernels.set(backendName, current);
  if (current) tfjs.unregisterKernel(KERNEL_NAME, backendName);
  tfjs.registerKernel({
    kernelName: KERNEL_NAME,
    backendName,
    kernelFunc: implementation as unknown as tf.KernelFunc,
  });
  return true;
}

/** Puts back the kernel `registerScatterAddKernel` replaced (tests compare the two). */
export function restoreStockKernel(tfjs: typeof tf, backendName: string): void {
  if (!replacedKernels.has(backendName)) return;
  const stock = replacedKernels.get(backendName);
  replacedKernels.delete(backendName);
  if (tfjs.getKernel(KERNEL_NAME, backendName)) tfjs.unregisterKernel(KERNEL_NAME, backendName);
  if (stock) tfjs.registerKernel(stock);
}
