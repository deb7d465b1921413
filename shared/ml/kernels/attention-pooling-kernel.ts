import { ATTENTION_POOLING_WASM_BASE64 } from './attention-pooling-wasm';

interface AttentionPoolingExports {
  readonly memory: WebAssembly.Memory;
  forward(...offsets: number[]): void;
  backward(...offsets: number[]): void;
}

/** Sizes of one call: rows of the batch, history positions, vector width (a multiple of 4), table rows. */
export interface AttentionKernelShape {
  readonly batch: number;
  readonly length: number;
  readonly width: number;
  readonly tableRows: number;
}

/** The backward pass's gradients: views of the kernel's memory, valid until its next call. */
export interface AttentionKernelGradients {
  readonly projectedRows: Float32Array;
  readonly projectedPositions: Float32Array;
  readonly rows: Float32Array;
  readonly query: Float32Array;
}

const PAGE = 65_536;
let compiled: WebAssembly.Module | undefined;

/**
 * The attention pooling's forward and backward loops in vectorised WebAssembly (`attention-pooling.wat`; the
 * JavaScript loops in `attention-pooling.ts` are the reference): ~4 ms of a 512-row training part in JavaScript.
 * The inputs are copied into the kernel's memory, where the forward pass's state (activations, weights) stays for
 * the backward one: one kernel per thread, and a backward pass must follow its own forward pass.
 */
export class AttentionPoolingKernel {
  private readonly exports: AttentionPoolingExports;
  private layout: Record<LayoutName, number> | undefined;
  private shape: AttentionKernelShape | undefined;
  private forwards = 0;

  constructor() {
    compiled ??= new WebAssembly.Module(Buffer.from(ATTENTION_POOLING_WASM_BASE64, 'base64'));
    this.exports = new WebAssembly.Instance(compiled, { env: { exp: Math.exp } })
      .exports as unknown as AttentionPoolingExports;
  }

  /**
   * Pooled vectors ([batch × width], a view valid until the next call) and the number of this forward pass,
   * which its backward pass names.
   */
  forward(
    context: Int32Array,
    projectedRows: Float32Array,
    projectedPositions: Float32Array,
    rows: Float32Array,
    query: Float32Array,
    shape: AttentionKernelShape,
  ): { pooled: Float32Array; pass: number } {
    const { batch, length, width } = shape;
    if (width % 4 !== 0) throw new Error(`the attention kernel needs a width divisible by 4, not ${width}`);
    const at = this.prepare(shape);
    const memory = this.exports.memory.buffer;
    new Int32Array(memory, at.context, batch * length).set(context);
    new Float32Array(memory, at.projectedRows, projectedRows.length).set(projectedRows);
    new Float32Array(memory, at.projectedPositions, projectedPositions.length).set(projectedPositions);
    new Float32Array(memory, at.rows, rows.length).set(rows);
    new Float32Array(memory, at.query, width).set(query);
    new Float32Array(memory, at.weights, batch * length).fill(0);
    const pooled = new Float32Array(memory, at.pooled, batch * width);
    pooled.fill(0);
    this.exports.forward(
      batch,
      length,
      width,
      at.context,
      at.projectedRows,
      at.projectedPositions,
      at.rows,
      at.query,
      at.hidden,
      at.weights,
      at.pooled,
      at.scores,
    );
    this.forwards++;
    return { pooled, pass: this.forwards };
  }

  /** The gradients of Σ pooledGradient ⊙ pooled, for forward pass `pass` (the last one on this kernel). */
  backward(pooledGradient: Float32Array, pass: number): AttentionKernelGradients {
    const { layout: at, shape } = this;
    if (pass !== this.forwards || !at || !shape)
      throw new Error('an attention backward pass must follow its own forward pass on the same kernel');
    const { batch, length, width, tableRows } = shape;
    const memory = this.exports.memory.buffer;
    new Float32Array(memory, at.pooledGradient, batch * width).set(pooledGradient);
    const view = (offset: number, size: number) => new Float32Array(memory, offset, size).fill(0);
    const gradients: AttentionKernelGradients = {
      projectedRows: view(at.projectedRowsGradient, tableRows * width),
      projectedPositions: view(at.projectedPositionsGradient, length * width),
      rows: view(at.rowsGradient, tableRows * width),
      query: view(at.queryGradient, width),
    };
    this.exports.backward(
      batch,
      length,
      width,
      at.context,
      at.rows,
      at.query,
      at.hidden,
      at.weights,
      at.pooledGradient,
      at.projectedRowsGradient,
      at.projectedPositionsGradient,
      at.rowsGradient,
      at.queryGradient,
      at.scores,
    );
    return gradients;
  }

  /** Byte offsets of every array for `shape`, one after another (16-byte aligned); memory grown to hold them. */
  private prepare(shape: AttentionKernelShape): Record<LayoutName, number> {
    const { batch, length, width, tableRows } = shape;
    const sizes: Record<LayoutName, number> = {
      context: batch * length,
      projectedRows: tableRows * width,
      projectedPositions: length * width,
      rows: tableRows * width,
      query: width,
      hidden: batch * length * width,
      weights: batch * length,
      pooled: batch * width,
      scores: length,
      pooledGradient: batch * width,
      projectedRowsGradient: tableRows * width,
      projectedPositionsGradient: length * width,
      rowsGradient: tableRows * width,
      queryGradient: width,
    };
    let offset = 0;
    const layout = {} as Record<LayoutName, number>;
    for (const name of Object.keys(sizes) as LayoutName[]) {
      layout[name] = offset;
      offset += Math.ceil((sizes[name] * 4) / 16) * 16;
    }
    const pages = Math.ceil(offset / PAGE) - this.exports.memory.buffer.byteLength / PAGE;
    if (pages > 0) this.exports.memory.grow(pages);
    this.layout = layout;
    this.shape = shape;
    return layout;
  }
}

type LayoutName =
  | 'context'
  | 'projectedRows'
  | 'projectedPositions'
  | 'rows'
  | 'query'
  | 'hidden'
  | 'weights'
  | 'pooled'
  | 'scores'
  | 'pooledGradient'
  | 'projectedRowsGradient'
  | 'projectedPositionsGradient'
  | 'rowsGradient'
  | 'queryGradient';
