import type * as tf from '@tensorflow/tfjs';

/**
 * The wasm backend's `BatchMatMul` is 7–13x slower when an operand is
 * transposed (measured: [256,64]·[1682,64]ᵀ 19 ms vs 2.8 ms pre-transposed).
 * Every gradient of a dot-product model multiplies by a transpose, so this
 * wrapper transposes the operand explicitly (a linear-time copy) and calls the
 * fast non-transposed kernel.
 */
const KERNEL = 'BatchMatMul';

interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: { disposeData(dataId: object): void };
  attrs?: tf.NamedAttrMap;
}

let original: tf.KernelConfig | undefined;

function transposeLast(tfjs: typeof tf, x: tf.TensorInfo, backend: KernelArgs['backend']): tf.TensorInfo {
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
  const current = tfjs.getKernel(KERNEL, 'wasm');
  if (!current || current.kernelFunc === (wrapper as unknown)) return;
  original = current;
  tfjs.unregisterKernel(KERNEL, 'wasm');
  tfjs.registerKernel({ ...current, kernelFunc: wrapper as unknown as tf.KernelFunc });

  function wrapper(args: KernelArgs): tf.TensorInfo {
    const base = original as tf.KernelConfig;
    const { transposeA, transposeB } = (args.attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
    if (!transposeA && !transposeB) return base.kernelFunc(args as never) as tf.TensorInfo;
    const a = args.inputs.a as tf.TensorInfo;
    const b = args.inputs.b as tf.TensorInfo;
    const aReady = transposeA ? transposeLast(tfjs, a, args.backend) : a;
    const bReady = transposeB ? transposeLast(tfjs, b, args.backend) : b;
    try {
      return base.kernelFunc({
        ...args,
        inputs: { ...args.inputs, a: aReady, b: bReady },
        attrs: { ...args.attrs, transposeA: false, transposeB: false },
      } as never) as tf.TensorInfo;
    } finally {
      if (aReady !== a) args.backend.disposeData(aReady.dataId);
      if (bReady !== b) args.backend.disposeData(bReady.dataId);
    }
  }
}
