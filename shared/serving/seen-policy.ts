/**
 * The stage's `excludeSeenEventTypes` (`*`, or e.g. `purchase,add_to_cart`): which event types make an item
 * "seen". Read by the API functions (what recommendations leave out) and the training job (which seen-set it
 * writes with each user vector), from the same context value.
 */
export type ExcludedEventTypes = 'all' | ReadonlySet<string>;

/** `view,add_to_cart` → that set; `*` or empty → every event type. */
export function parseExcludedEventTypes(raw: string | undefined): ExcludedEventTypes {
  const types = (raw ?? '*')
    .split(',')
    .map((type) => type.trim())
    .filter(Boolean);
  return types.length === 0 || types.includes('*') ? 'all' : new Set(types);
}
