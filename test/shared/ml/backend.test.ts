import * as tf from '@tensorflow/tfjs';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { initBackend, parseBackendName } from '../../../shared/ml/backend';

describe('initBackend', () => {
  afterEach(() => {
    if (tf.findBackend('tensorflow')) tf.removeBackend('tensorflow');
  });

  it('selects the native tensorflow backend when tfjs-node loads', async () => {
    // Prepare: a stand-in for tfjs-node, which registers a backend named 'tensorflow' when required.
    const loadNative = () => tf.registerBackend('tensorflow', () => new MathBackendCPU());

    // Act
    const selection = await initBackend({ loadNative });

    // Assess
    expect(selection.backend).toBe('tensorflow');
    expect(tf.getBackend()).toBe('tensorflow');
  });

  it('falls back to wasm, with the reason, when tfjs-node is not installed', async () => {
    const selection = await initBackend({
      loadNative: () => {
        throw new Error("Cannot find module '@tensorflow/tfjs-node'");
      },
    });

    expect(selection.backend).toBe('wasm');
    expect(selection.skipped).toEqual([
      { backend: 'tensorflow', reason: "Cannot find module '@tensorflow/tfjs-node'" },
    ]);
    expect(tf.getBackend()).toBe('wasm');
  });

  it('falls back to cpu when wasm cannot load either', async () => {
    const selection = await initBackend({
      loadNative: () => {
        throw new Error('no native');
      },
      loadWasm: () => {
        throw new Error('no wasm');
      },
    });

    expect(selection.backend).toBe('cpu');
    expect(selection.skipped.map((skip) => skip.backend)).toEqual(['tensorflow', 'wasm']);
  });

  it('honours a forced backend and fails loudly when it cannot start', async () => {
    await expect(initBackend({ force: 'cpu' })).resolves.toEqual({ backend: 'cpu', skipped: [] });
    await expect(
      initBackend({
        force: 'tensorflow',
        loadNative: () => {
          throw new Error("Cannot find module '@tensorflow/tfjs-node'");
        },
      }),
    ).rejects.toThrow('tfjs-node');
  });
});

describe('parseBackendName', () => {
  it('accepts known names and auto', () => {
    expect(parseBackendName('wasm')).toBe('wasm');
    expect(parseBackendName('auto')).toBeUndefined();
    expect(parseBackendName(undefined)).toBeUndefined();
  });

  it('rejects unknown names, listing the valid ones', () => {
    expect(() => parseBackendName('webgl')).toThrow(
      "Unknown TF.js backend 'webgl'; expected one of tensorflow, wasm, cpu or auto",
    );
  });
});
