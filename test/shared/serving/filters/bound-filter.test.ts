import {
  checkParameters,
  FilterParameterError,
  interactionSide,
  itemMask,
  missingParameters,
  withFilter,
} from '../../../../shared/serving/filters/bound-filter';
import { parseFilterExpression } from '../../../../shared/serving/filters/filter-expression';
import { ItemIndex, type ItemAttributes } from '../../../../shared/serving/item-index';
import type { ServedModel } from '../../../../shared/serving/model-store';
import { type AppliedFilter, rank, recommend } from '../../../../shared/serving/recommender';

const items: ItemAttributes[] = [
  { category: 'books', price: 10, attributes: { brand: 'acme', stock: 3, on_sale: true } },
  { category: 'books', price: 30, attributes: { brand: 'zeta', stock: 0 } },
  { category: 'toys', price: 5, attributes: { brand: 'acme', stock: '0' } },
  { category: ['toys', 'games'], price: null, attributes: { brand: 'acme' } },
  { category: null, price: 1, attributes: { stock: 12, on_sale: false } },
];
const ids = ['a', 'b', 'c', 'd', 'e'];

function mask(source: string, parameters: Record<string, string> = {}): string[] {
  const result = itemMask(parseFilterExpression(source), parameters, items);
  return ids.filter((_, index) => result?.[index] === 1);
}

describe('a filter bound to parameters', () => {
  it('evaluates the item side over the catalogue: lists, numbers, absent fields, and parts that must all hold', () => {
    expect(
      mask('INCLUDE ItemID WHERE Items.category IN ($CATEGORIES)', { CATEGORIES: 'books, games' }),
    ).toEqual(['a', 'b', 'd']);
    expect(mask('INCLUDE ItemID WHERE Items.price <= $MAX_PRICE', { MAX_PRICE: '10' })).toEqual([
      'a',
      'c',
      'e',
    ]);
    // "0" in the data equals 0; an item without stock is not excluded (the condition does not hold for it).
    expect(mask('EXCLUDE ItemID WHERE Items.stock = 0')).toEqual(['a', 'd', 'e']);
    expect(mask('INCLUDE ItemID WHERE Items.brand NOT IN ("acme")')).toEqual(['b', 'e']);
    expect(mask('INCLUDE ItemID WHERE Items.on_sale = "true"')).toEqual(['a']);
    expect(
      mask(
        'INCLUDE ItemID WHERE Items.brand = "acme" AND Items.price > 4 | EXCLUDE ItemID WHERE Items.stock = 0',
      ),
    ).toEqual(['a']);
    expect(mask('INCLUDE ItemID WHERE Items.price > 20 OR Items.category = "games"')).toEqual(['b', 'd']);
  });

  it('has no item side for a filter of interactions only', () => {
    expect(
      itemMask(parseFilterExpression('EXCLUDE ItemID WHERE Interactions.event_type = "purchase"'), {}, items),
    ).toBeUndefined();
  });

  it('takes the interaction side from the user’s recent history', () => {
    const recent = [
      { item_id: 'a', timestamp: 1, event_type: 'purchase', event_value: 20 },
      { item_id: 'b', timestamp: 2, event_type: 'view' },
      { item_id: 'zz', timestamp: 3, event_type: 'purchase' },
      { item_id: 'c', timestamp: 4, event_type: 'purchase', event_value: 3 },
    ];
    const indexOf = (itemId: string) => (ids.includes(itemId) ? ids.indexOf(itemId) : undefined);
    const side = (source: string) => interactionSide(parseFilterExpression(source), {}, recent, indexOf);
    expect(side('EXCLUDE ItemID WHERE Interactions.event_type IN ("purchase")')).toEqual({
      exclude: new Set([0, 2]),
    });
    expect(side('INCLUDE ItemID WHERE Interactions.event_type = "view"')).toEqual({
      only: new Set([1]),
      exclude: new Set(),
    });
    expect(
      side('EXCLUDE ItemID WHERE Interactions.event_type = "purchase" AND Interactions.event_value >= 10'),
    ).toEqual({ exclude: new Set([0]) });
  });

  it('names the parameters a request lacks and the ones that are not numbers where compared', () => {
    const expression = parseFilterExpression(
      'INCLUDE ItemID WHERE Items.category IN ($CATEGORIES) AND Items.price <= $MAX_PRICE',
    );
    expect(missingParameters(expression, { CATEGORIES: 'books' })).toEqual(['MAX_PRICE']);
    expect(() => checkParameters(expression, { CATEGORIES: 'books', MAX_PRICE: 'cheap' })).toThrow(
      FilterParameterError,
    );
    expect(() => checkParameters(expression, { CATEGORIES: 'books', MAX_PRICE: '12.5' })).not.toThrow();
  });

  it('merges with the request’s own exclusions', () => {
    const merged = withFilter(
      { exclude: new Set([1]), allowed: Uint8Array.from([1, 1, 0, 1, 1]) },
      Uint8Array.from([1, 0, 1, 1, 0]),
      { exclude: new Set([3]) },
    );
    expect(merged.exclude).toEqual(new Set([1, 3]));
    expect([...(merged.allowed ?? [])]).toEqual([1, 0, 0, 1, 0]);
  });
});

describe('recommendations under a filter and a promotion', () => {
  // One dimension + bias: item scores for the user vector [1, 1] are 5, 4, 3, 2, 1 (a best).
  const index = new ItemIndex(Float32Array.from([5, 0, 4, 0, 3, 0, 2, 0, 1, 0]), ids, items);
  const model = {
    manifest: { version: 'v1', trainedAt: '2026-01-01T00:00:00Z', serving: 'model' },
    items: index,
    tower: { vector: () => Float32Array.from([1, 1]) },
    userIds: new Map([['u1', 0]]),
    popularity: Float32Array.from([0.5, 0.2, 0.1, 0.1, 0.1]),
    trending: Float32Array.from([0.1, 0.1, 0.1, 0.2, 0.5]),
  } as unknown as ServedModel;
  const user = { recent: [], precomputed: Float32Array.from([1, 1]) };
  const applied = (name: string, source: string, parameters: Record<string, string> = {}): AppliedFilter => {
    const expression = parseFilterExpression(source);
    const itemSide = itemMask(expression, parameters, items);
    return { name, expression, parameters, ...(itemSide ? { mask: itemSide } : {}) };
  };

  it('fills the list from the filtered catalogue, best first', () => {
    const result = recommend(model, 'u1', user, {
      limit: 2,
      excludeSeen: false,
      filter: applied('cheap', 'INCLUDE ItemID WHERE Items.price <= $MAX', { MAX: '5' }),
    });
    expect(result.items.map((item) => item.itemId)).toEqual(['c', 'e']);
  });

  it('gives a promotion its share of slots, placed by score and marked, without duplicates', () => {
    const promotion = applied('clearance', 'INCLUDE ItemID WHERE Items.stock = 12');
    const result = recommend(model, 'u1', user, {
      limit: 4,
      excludeSeen: false,
      promotion: { filter: promotion, share: 0.25 },
    });
    expect(result.items.map((item) => [item.itemId, item.promotion ?? null])).toEqual([
      ['a', null],
      ['b', null],
      ['c', null],
      ['e', 'clearance'],
    ]);
    // A promotion whose filter holds fewer items than its share leaves the rest to the main list.
    const wide = recommend(model, 'u1', user, {
      limit: 4,
      excludeSeen: false,
      filter: applied('books', 'INCLUDE ItemID WHERE Items.category = "books"'),
      promotion: { filter: promotion, share: 0.5 },
    });
    expect(wide.items.map((item) => [item.itemId, item.promotion ?? null])).toEqual([
      ['a', null],
      ['b', null],
      ['e', 'clearance'],
    ]);
  });

  it('applies the same filter to cold-start lists, and to ranking (listing what it left out)', () => {
    const unknown = recommend(
      model,
      'new-user',
      { recent: [] },
      {
        limit: 3,
        excludeSeen: false,
        filter: applied('acme', 'INCLUDE ItemID WHERE Items.brand = "acme"'),
      },
    );
    expect(unknown.strategy).toBe('cold_start');
    expect(unknown.items.map((item) => item.itemId)).toEqual(['d', 'a', 'c']);
    const ranked = rank(model, 'u1', user, ['e', 'b', 'a'], {
      filter: applied('in-stock', 'EXCLUDE ItemID WHERE Items.stock = 0'),
    });
    expect(ranked.items.map((item) => item.itemId)).toEqual(['a', 'e']);
    expect(ranked.filteredItemIds).toEqual(['b']);
  });
});
