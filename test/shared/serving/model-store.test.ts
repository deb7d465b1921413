import { ItemIndex } from '../../../shared/serving/item-index';
import { UserTower } from '../../../shared/serving/user-tower';
import { type ModelSource, ModelStore, type ServedModel } from '../../../shared/serving/model-store';
import type { ModelManifest } from '../../../shared/contracts/artifacts';

function manifest(version: string): ModelManifest {
  return { version } as unknown as ModelManifest;
}

function model(version: string): ServedModel {
  return {
    manifest: manifest(version),
    items: new ItemIndex(Float32Array.of(1, 0), ['i1'], [{ category: null, price: null }]),
    tower: new UserTower(
      { numUsers: 0, numItems: 1, embeddingDim: 1, sequenceLength: 1, userFeatureDim: 0 },
      new Map(
        ['item_embedding', 'position_embedding', 'user_embedding', 'attention_kernel', 'attention_bias']
          .map((name): [string, Float32Array] => [name, new Float32Array(name === 'item_embedding' ? 2 : 1)])
          .concat([
            ['attention_query', new Float32Array(1)],
            ['output_kernel', new Float32Array(3)],
            ['output_bias', new Float32Array(1)],
          ]),
      ),
    ),
    userIds: new Map(),
    popularity: Float32Array.of(1),
    trending: Float32Array.of(1),
    itemKnn: { items: 1, k: 0, ids: new Int32Array(), similarities: new Float32Array() },
  };
}

/** A source whose loads finish only when the test releases them. */
function controllableSource() {
  let current: string | undefined;
  const pending: (() => void)[] = [];
  let failNext = false;
  const source: ModelSource = {
    manifest: async () => (current ? manifest(current) : undefined),
    load: (found) =>
      new Promise((resolve, reject) => {
        pending.push(() =>
          failNext ? reject(new Error('artifact missing')) : resolve(model(found.version)),
        );
      }),
  };
  return {
    source,
    publish: (version: string) => {
      current = version;
    },
    failNextLoad: () => {
      failNext = true;
    },
    /** Lets the store reach its load call, completes every pending load, lets the swap happen. */
    release: async () => {
      await new Promise((resolve) => setImmediate(resolve));
      while (pending.length > 0) pending.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

describe('ModelStore', () => {
  it('serves nothing before the first model, then waits for the first load', async () => {
    let clock = 0;
    const control = controllableSource();
    const store = new ModelStore(control.source, 1_000, () => clock);
    expect(await store.current()).toBeUndefined();

    control.publish('v1');
    clock = 1_000;
    const first = store.current();
    await control.release();
    expect((await first)?.manifest.version).toBe('v1');
  });

  it('keeps serving the old version while a new one loads, then swaps at once', async () => {
    let clock = 0;
    const control = controllableSource();
    control.publish('v1');
    const store = new ModelStore(control.source, 1_000, () => clock);
    const initial = store.current();
    await control.release();
    expect((await initial)?.manifest.version).toBe('v1');

    control.publish('v2');
    clock = 1_000;
    // Concurrent requests during the load all get v1, none waits.
    const during = await Promise.all([store.current(), store.current(), store.current()]);
    expect(during.map((served) => served?.manifest.version)).toEqual(['v1', 'v1', 'v1']);
    await control.release();
    expect((await store.current())?.manifest.version).toBe('v2');
  });

  it('keeps the old model when loading a new version fails, and re-checks no sooner than configured', async () => {
    let clock = 0;
    const errors: unknown[] = [];
    const control = controllableSource();
    control.publish('v1');
    const store = new ModelStore(
      control.source,
      60_000,
      () => clock,
      (error) => errors.push(error),
    );
    const initial = store.current();
    await control.release();
    await initial;

    control.publish('v2');
    clock = 30_000;
    await store.current();
    await control.release();
    expect((await store.current())?.manifest.version).toBe('v1'); // not re-checked yet

    clock = 60_000;
    control.failNextLoad();
    await store.current();
    await control.release();
    expect((await store.current())?.manifest.version).toBe('v1');
    expect(errors).toHaveLength(1);
  });
});
