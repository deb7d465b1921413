import type { ItemAttributes } from '../item-index';
import { type FilterParameters, itemMask } from './bound-filter';
import { type FilterExpression, parseFilterExpression } from './filter-expression';
import type { StoredFilter } from './filter-store';

/**
 * Named filters as the scoring functions see them: each read from DynamoDB at most once per `ttlMs` (a
 * deleted filter stops applying within that time), parsed once, and its item side evaluated once per model
 * version and parameter values (an LRU of catalogue masks), so a filtered request costs the unfiltered
 * scan plus a byte lookup per item.
 */
export interface ResolvedFilter {
  readonly name: string;
  readonly expression: FilterExpression;
  readonly createdAt: string;
}

interface CachedFilter {
  readonly at: number;
  readonly filter: Promise<ResolvedFilter | undefined>;
}

/** Bytes of catalogue masks kept per container (one byte per item per cached mask). */
const MASK_CACHE_BYTES = 64 * 1024 * 1024;

export class NamedFilters {
  private readonly filters = new Map<string, CachedFilter>();
  private readonly masks = new Map<string, Uint8Array | undefined>();
  private maskBytes = 0;

  constructor(
    private readonly read: (name: string) => Promise<StoredFilter | undefined>,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The filter, or undefined when none has that name. A stored expression that no longer parses throws. */
  get(name: string): Promise<ResolvedFilter | undefined> {
    const cached = this.filters.get(name);
    if (cached && this.now() - cached.at < this.ttlMs) return cached.filter;
    const filter = this.read(name).then((stored) =>
      stored
        ? { name, expression: parseFilterExpression(stored.expression), createdAt: stored.createdAt }
        : undefined,
    );
    const entry = { at: this.now(), filter };
    this.filters.set(name, entry);
    // A failed read is not cached.
    filter.catch(() => {
      if (this.filters.get(name) === entry) this.filters.delete(name);
    });
    return filter;
  }

  /** The filter's item-side mask over a model version's catalogue, for these parameter values. */
  mask(
    filter: ResolvedFilter,
    parameters: FilterParameters,
    version: string,
    items: readonly ItemAttributes[],
  ): Uint8Array | undefined {
    const used = Object.fromEntries(filter.expression.parameters.map((name) => [name, parameters[name]]));
    const key = JSON.stringify([version, filter.name, filter.createdAt, used]);
    if (this.masks.has(key)) {
      const mask = this.masks.get(key);
      // Re-insert: Map order is the LRU order.
      this.masks.delete(key);
      this.masks.set(key, mask);
      return mask;
    }
    const mask = itemMask(filter.expression, parameters, items);
    this.masks.set(key, mask);
    this.maskBytes += mask?.length ?? 0;
    for (const [oldest, evicted] of this.masks) {
      if (this.maskBytes <= MASK_CACHE_BYTES || oldest === key) break;
      this.masks.delete(oldest);
      this.maskBytes -= evicted?.length ?? 0;
    }
    return mask;
  }
}
