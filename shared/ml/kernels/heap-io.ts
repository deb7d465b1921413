import * as tf from '@tensorflow/tfjs';
import type { WasmBackendLike } from './wasm-kernel';

/**
 * Reading and writing tensor values around the training step's fused ops without fresh multi-megabyte arrays.
 * A step needs the same few large buffers every time; fresh ones are external memory to V8, whose pressure
 * starts garbage collections whose parallel tasks take the other core — with two gradient threads each slowed
 * the other (10^5 items: 9.1k examples/s on two threads against 13.1k on one, 13.9k with single-threaded GC).
 */

/**
 * A tensor's values: on wasm a view of the backend's heap (no copy), valid until the next TF.js call (a heap
 * growth detaches it) — read it at once; elsewhere `dataSync`.
 */
export function readValues(tensor: tf.Tensor): Float32Array {
  if (tf.getBackend() === 'wasm' && tensor.dtype === 'float32')
    return (tf.backend() as unknown as WasmBackendLike).typedArrayFromHeap(tensor) as Float32Array;
  return tensor.dataSync() as Float32Array;
}

/**
 * A Float32Array lent out and given back across steps. Only on wasm, whose tensors copy the values they are
 * made from; the cpu backend keeps the array itself, so there (and while the buffer is lent) `take` gives a
 * fresh one.
 */
export class ScratchBuffer {
  private values = new Float32Array(0);
  private lent = false;

  /** `length` values, zeroed unless `zeroed` is false. */
  take(length: number, zeroed = true): Float32Array {
    if (this.lent || tf.getBackend() !== 'wasm') return new Float32Array(length);
    if (this.values.length < length) this.values = new Float32Array(Math.ceil(length * 1.25));
    this.lent = true;
    const view = this.values.subarray(0, length);
    if (zeroed) view.fill(0);
    return view;
  }

  /** Gives a taken array back (a fresh one is left to the garbage collector). */
  give(array: Float32Array): void {
    if (array.buffer === this.values.buffer) this.lent = false;
  }
}

/** What the project's own wasm modules use of the wasm backend's Emscripten module: its memory and allocator. */
interface WasmHeapModule {
  readonly asm: { readonly memory: WebAssembly.Memory };
  _malloc(bytes: number): number;
  _free(pointer: number): void;
}

/**
 * The wasm backend's heap — its `WebAssembly.Memory`, for a module of the project's own to import, and a block of
 * scratch bytes in it, kept across steps and grown when a step needs more. Allocating may grow the heap, which
 * detaches every view of it: reserve first, then take views.
 */
export class HeapScratch {
  private heap: WasmHeapModule | undefined;
  private pointer = 0;
  private bytes = 0;

  /** The backend's memory and a scratch block of at least `bytes` bytes (its byte offset). */
  reserve(bytes: number): { memory: WebAssembly.Memory; offset: number } {
    const heap = (tf.backend() as unknown as { wasm: WasmHeapModule }).wasm;
    if (heap !== this.heap) {
      // A new backend instance: the old block went with its heap.
      this.heap = heap;
      this.bytes = 0;
      this.pointer = 0;
    }
    if (this.bytes < bytes) {
      if (this.pointer) heap._free(this.pointer);
      this.bytes = Math.ceil(bytes * 1.25);
      this.pointer = heap._malloc(this.bytes);
      if (!this.pointer) throw new Error(`the wasm heap could not allocate ${this.bytes} bytes`);
    }
    return { memory: heap.asm.memory, offset: this.pointer };
  }
}
