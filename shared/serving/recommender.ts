import { forEachNeighbour } from '../data/item-neighbours';
import { combineFeedback, type Feedback, feedbackOf } from '../data/event-policy';
import type { RecentInteraction } from '../feature-store/features';
import type { ServedAttribute } from '../contracts/artifacts';
import type { ItemFilter, ScoredItem } from './item-index';
import { type CatalogueModel, type ServedModel, trainedItemCount } from './model-store';
import { type FilterParameters, interactionSide, withFilter } from './filters/bound-filter';
import type { FilterExpression } from './filters/filter-expression';

/**
 * Recommendation decisions for one request, as pure functions of the served
 * model and what DynamoDB returned for the user. Handlers only fetch and format.
 */
export type Strategy = 'personalized' | 'cold_start' | 'fallback' | 'popular' | 'trending';

/** What the feature store knows about a user at request time. */
export interface UserState {
  /** The user's last interactions, oldest first (feature store `recent`). */
  readonly recent: readonly RecentInteraction[];
  /** The vector the training job precomputed for this user and model version. */
  readonly precomputed?: Float32Array;
  /**
   * Every item (this model version's indices) the user had interacted with when it was trained, under the
   * stage's seen policy: excluded from recommendations together with the events since (`recent`).
   */
  readonly seen?: ReadonlySet<number>;
  /** DynamoDB could not be read (throttled, unavailable): serve without personal data. */
  readonly unavailable?: boolean;
}

export interface RecommendationRequest {
  readonly limit: number;
  readonly excludeSeen: boolean;
  readonly category?: string;
  readonly minPrice?: number;
  readonly maxPrice?: number;
  /** An experiment variant's strategy: a baseline list instead of the model (still excluding seen items). */
  readonly variantStrategy?: 'personalized' | 'popular' | 'trending';
  /** A named filter (`?filter=`) the non-promoted items must pass. */
  readonly filter?: AppliedFilter;
  /** A share of the list drawn from another named filter (`?promotion=&promotion_share=`). */
  readonly promotion?: { readonly filter: AppliedFilter; readonly share: number };
  /** Slots for items added since training (`reason: "new"`); absent or weight 0 = new items only by score. */
  readonly exploration?: Exploration;
}

/** Personalize's exploration settings, with what the rule needs to know about the new items. */
export interface Exploration {
  /** Share of the list (0-1) offered to new items. */
  readonly weight: number;
  /** Only items listed at most this many days ago count as new. */
  readonly itemAgeCutoffDays: number;
  /** Unix seconds now. */
  readonly now: number;
  /** Interactions a new item has had since it was listed (the feature store's count); 0 when unknown. */
  readonly interactions: (index: number) => number;
}

/** A named filter with the request's parameter values, its item side already evaluated (`NamedFilters.mask`). */
export interface AppliedFilter {
  readonly name: string;
  readonly expression: FilterExpression;
  readonly parameters: FilterParameters;
  /** 1 per catalogue item the filter's Items parts let through; absent when it has none. */
  readonly mask?: Uint8Array;
}

/** The item filter of a request with a named filter applied for this user (its interaction side from `recent`). */
export function applyFilter(
  model: Pick<ServedModel, 'items'>,
  base: ItemFilter,
  applied: AppliedFilter | undefined,
  recent: readonly RecentInteraction[],
): ItemFilter {
  if (!applied) return base;
  const side = interactionSide(applied.expression, applied.parameters, recent, (itemId) =>
    model.items.indexOf(itemId),
  );
  return withFilter(base, applied.mask, side);
}

export interface ServingPolicy {
  /** Event types whose items are excluded as "seen"; items only viewed, say, may be allowed back. */
  readonly excludeEventTypes: ReadonlySet<string> | 'all';
}

export const DEFAULT_POLICY: ServingPolicy = { excludeEventTypes: 'all' };

export interface RecommendedItem {
  readonly itemId: string;
  readonly score: number;
  /** "because you purchased i42": the past item most similar to this one. */
  readonly reason?: string;
  readonly reasonItemId?: string;
  /** The promotion (named filter) that put the item in the list. */
  readonly promotion?: string;
}

export interface Recommendations {
  readonly strategy: Strategy;
  /** How the user vector was obtained, for logs and metrics. */
  readonly vectorSource: 'precomputed' | 'sequence' | 'none';
  readonly items: RecommendedItem[];
}

interface UserVector {
  readonly vector: Float32Array;
  readonly source: 'precomputed' | 'sequence';
}

/** One past interaction with an item the model knows. */
interface HistoryEntry {
  readonly index: number;
  readonly interaction: RecentInteraction;
}

/** The user's known history as item indices, oldest first, with the event that put each there. */
function knownHistory(model: ServedModel, recent: readonly RecentInteraction[]): HistoryEntry[] {
  const history: HistoryEntry[] = [];
  for (const interaction of recent) {
    const index = model.items.indexOf(interaction.item_id);
    if (index !== undefined) history.push({ index, interaction });
  }
  return history;
}

/**
 * The part of the history that says what the user likes, under the event policy the model learned with: a
 * 1★ rating, a dismissal or an unclicked impression is seen, but never context for the user tower nor a
 * reason ("because you rated …"). An item's latest decided event counts (a return after a purchase).
 */
function likedHistory(model: ServedModel, history: readonly HistoryEntry[]): HistoryEntry[] {
  const policy = model.manifest.eventPolicy;
  if (!policy) return [...history];
  const feedback = history.map(({ interaction }) =>
    feedbackOf(policy, interaction.event_type, interaction.event_value),
  );
  const state = new Map<number, Feedback>();
  history.forEach(({ index }, position) =>
    state.set(index, combineFeedback(state.get(index), feedback[position] as Feedback)),
  );
  return history.filter(
    ({ index }, position) => (feedback[position]?.signal ?? 0) > 0 && (state.get(index)?.signal ?? 0) > 0,
  );
}

/**
 * The user vector to score with. The precomputed vector is exact for the
 * history the model was trained on; once the user has events newer than the
 * model (posted through the API, say), the user tower recomputes it from the
 * recent history so the next response already reflects them.
 */
function userVector(
  model: ServedModel,
  userId: string,
  state: UserState,
  history: readonly HistoryEntry[],
): UserVector | undefined {
  const trainedAt = Date.parse(model.manifest.trainedAt) / 1000;
  const newerThanModel = state.recent.some((interaction) => interaction.timestamp > trainedAt);
  if (state.precomputed && !newerThanModel) return { vector: state.precomputed, source: 'precomputed' };
  // Items appended since training have no row in the tower's tables: they are seen, not context.
  const trained = trainedItemCount(model);
  const indices = history.map(({ index }) => index).filter((index) => index < trained);
  if (indices.length > 0) {
    return { vector: model.tower.vector(indices, model.userIds.get(userId)), source: 'sequence' };
  }
  if (state.precomputed) return { vector: state.precomputed, source: 'precomputed' };
  return undefined;
}

/**
 * Item indices the user has already interacted with, under the policy's event types: the full history the
 * model was trained on (`trained`, from the training job) plus the recent interactions (events since).
 */
function seenItems(
  history: readonly HistoryEntry[],
  policy: ServingPolicy,
  trained?: ReadonlySet<number>,
): Set<number> {
  const seen = new Set<number>(trained);
  for (const { index, interaction } of history) {
    if (policy.excludeEventTypes === 'all' || policy.excludeEventTypes.has(interaction.event_type)) {
      seen.add(index);
    }
  }
  return seen;
}

const VERBS: Record<string, string> = {
  view: 'viewed',
  add_to_cart: 'added to your cart',
  purchase: 'purchased',
  rating: 'rated',
  interaction: 'interacted with',
};

/** Names the past item closest to each recommendation in the embedding space (recent ones win ties). */
function explain(
  model: ServedModel,
  known: readonly HistoryEntry[],
  items: readonly ScoredItem[],
): Map<number, { reason: string; itemId: string }> {
  const history = known.slice(-20).reverse();
  const reasons = new Map<number, { reason: string; itemId: string }>();
  if (history.length === 0) return reasons;
  for (const item of items) {
    let best: HistoryEntry | undefined;
    let bestSimilarity = 0;
    for (const entry of history) {
      if (entry.index === item.index) continue;
      const similarity = model.items.cosine(item.index, entry.index);
      if (similarity > bestSimilarity) {
        best = entry;
        bestSimilarity = similarity;
      }
    }
    if (best) {
      const verb = VERBS[best.interaction.event_type] ?? `${best.interaction.event_type.replace(/_/g, ' ')}`;
      const itemId = best.interaction.item_id;
      reasons.set(item.index, { reason: `because you ${verb} ${itemId}`, itemId });
    }
  }
  return reasons;
}

function filterOf(request: RecommendationRequest, exclude?: ReadonlySet<number>): ItemFilter {
  return {
    ...(request.category !== undefined ? { category: request.category } : {}),
    ...(request.minPrice !== undefined ? { minPrice: request.minPrice } : {}),
    ...(request.maxPrice !== undefined ? { maxPrice: request.maxPrice } : {}),
    ...(exclude && exclude.size > 0 ? { exclude } : {}),
  };
}

/** Picks the best `k` items under a filter: one strategy's ranking (a baseline's scores or a user vector). */
type PickItems = (k: number, filter: ItemFilter) => ScoredItem[];

interface ListedItem {
  readonly item: ScoredItem;
  readonly promotion?: string;
}

/**
 * The list under the request's named filter (`main`: the request's own filter with it applied) and
 * promotion (applied here over `base`). Filters are applied while scanning the
 * catalogue, so the list is `limit` long while the filtered catalogue allows (never padded). A promotion
 * takes `round(limit × share)` slots from its own filter's best items; the rest come from the main filter,
 * and the two are merged by score (each promoted item sits where its score puts it).
 */
function filteredList(
  model: Pick<ServedModel, 'items'>,
  request: RecommendationRequest,
  base: ItemFilter,
  main: ItemFilter,
  recent: readonly RecentInteraction[],
  pick: PickItems,
): ListedItem[] {
  const promotion = request.promotion;
  const slots = promotion ? Math.min(request.limit, Math.round(request.limit * promotion.share)) : 0;
  if (!promotion || slots === 0) return pick(request.limit, main).map((item) => ({ item }));
  const promoted = pick(slots, applyFilter(model, base, promotion.filter, recent));
  const taken = new Set(promoted.map(({ index }) => index));
  // The main list's best `limit` hold at most `promoted.length` promoted items: one pass is enough.
  const rest = pick(request.limit, main)
    .filter(({ index }) => !taken.has(index))
    .slice(0, request.limit - promoted.length);
  return [
    ...promoted.map((item) => ({ item, promotion: promotion.filter.name })),
    ...rest.map((item) => ({ item })),
  ].sort((a, b) => b.item.score - a.item.score || a.item.index - b.item.index);
}

/**
 * Gives new items `round(limit × weight)` slots, chosen by UCB: the item's score for this user (standardised
 * among the candidates) plus an exploration bonus sqrt(2 ln(1 + N) / (1 + n)), n its interactions since it
 * was listed and N theirs in all, so items nobody has reacted to yet are tried first and the bonus fades as
 * evidence arrives. They replace the lowest-scored picks and sit where their score puts them.
 */
function explore(
  model: ServedModel,
  request: RecommendationRequest,
  listed: readonly ListedItem[],
  filter: ItemFilter,
  score: (index: number) => number,
): { items: ListedItem[]; explored: Set<number> } {
  const exploration = request.exploration;
  const slots = exploration ? Math.round(request.limit * Math.min(Math.max(exploration.weight, 0), 1)) : 0;
  if (!exploration || slots === 0 || !model.newItems || model.newItems.size === 0) {
    return { items: [...listed], explored: new Set() };
  }
  const oldest = exploration.now - exploration.itemAgeCutoffDays * 86_400;
  const chosen = new Set(listed.map(({ item }) => item.index));
  const candidates = [...model.newItems]
    .filter(
      ([index, addedAt]) => addedAt >= oldest && !chosen.has(index) && model.items.accepts(index, filter),
    )
    .map(([index]) => ({ index, score: score(index), n: exploration.interactions(index) }));
  if (candidates.length === 0) return { items: [...listed], explored: new Set() };
  const mean = candidates.reduce((sum, candidate) => sum + candidate.score, 0) / candidates.length;
  const sd =
    Math.sqrt(
      candidates.reduce((sum, candidate) => sum + (candidate.score - mean) ** 2, 0) / candidates.length,
    ) || 1;
  const total = candidates.reduce((sum, candidate) => sum + candidate.n, 0);
  const priority = (candidate: (typeof candidates)[number]) =>
    (candidate.score - mean) / sd +
    Math.sqrt((2 * Math.log(1 + total + candidates.length)) / (1 + candidate.n));
  const picked = candidates.sort((a, b) => priority(b) - priority(a) || a.index - b.index).slice(0, slots);
  const kept = listed.slice(0, Math.max(request.limit - picked.length, 0));
  const explored = new Set(picked.map(({ index }) => index));
  const items = [
    ...kept,
    ...picked.map(({ index, score: value }) => ({
      item: { index, itemId: model.items.itemIds[index] as string, score: value },
    })),
  ].sort((a, b) => b.item.score - a.item.score || a.item.index - b.item.index);
  return { items, explored };
}

export function recommend(
  model: ServedModel,
  userId: string,
  state: UserState,
  request: RecommendationRequest,
  policy: ServingPolicy = DEFAULT_POLICY,
): Recommendations {
  const baseline = (strategy: Strategy, scores: Float32Array, filter: ItemFilter): Recommendations => {
    const main = applyFilter(model, filter, request.filter, state.recent);
    const listed = filteredList(model, request, filter, main, state.recent, (k, f) =>
      model.items.rankByScores(scores, k, f),
    );
    // Without a user vector the content scores cannot tell new items apart: the bonus alone decides.
    const { items, explored } = explore(model, request, listed, main, () => 0);
    return {
      strategy,
      vectorSource: 'none',
      items: items.map(({ item, promotion }) => ({
        ...plain(item),
        ...(explored.has(item.index) ? { reason: 'new' } : {}),
        ...(promotion ? { promotion } : {}),
      })),
    };
  };
  if (state.unavailable) return baseline('fallback', model.popularity, filterOf(request));
  const history = knownHistory(model, state.recent);
  const exclude = request.excludeSeen ? seenItems(history, policy, state.seen) : undefined;
  const filter = filterOf(request, exclude);
  // No model has passed the quality gate yet: popularity, still without what the user has seen.
  if (servesBaselines(model)) return baseline('fallback', model.popularity, filter);
  if (request.variantStrategy === 'popular' || request.variantStrategy === 'trending') {
    const ranking = request.variantStrategy === 'popular' ? model.popularity : model.trending;
    return baseline(request.variantStrategy, ranking, filter);
  }
  const liked = likedHistory(model, history);
  const user = userVector(model, userId, state, liked);
  if (!user) return baseline('cold_start', model.trending, filter);
  // The catalogue is scored once; the main list, a promotion and exploration all rank from it.
  const scores = model.items.scoresFor(user.vector);
  const main = applyFilter(model, filter, request.filter, state.recent);
  const scored = filteredList(model, request, filter, main, state.recent, (k, f) =>
    model.items.rankByScores(scores, k, f),
  );
  const { items: listed, explored } = explore(
    model,
    request,
    scored,
    main,
    (index) => scores[index] as number,
  );
  const reasons = explain(
    model,
    liked,
    listed.map(({ item }) => item).filter((item) => !explored.has(item.index)),
  );
  return {
    strategy: 'personalized',
    vectorSource: user.source,
    items: listed.map(({ item, promotion }) => {
      const reason = explored.has(item.index)
        ? { reason: 'new', itemId: undefined }
        : reasons.get(item.index);
      return {
        itemId: item.itemId,
        score: round(item.score),
        ...(reason
          ? { reason: reason.reason, ...(reason.itemId ? { reasonItemId: reason.itemId } : {}) }
          : {}),
        ...(promotion ? { promotion } : {}),
      };
    }),
  };
}

export interface Ranking {
  readonly strategy: Strategy;
  readonly items: { itemId: string; score: number }[];
  /** Requested ids the model does not know (new items, typos); not fatal. */
  readonly unknownItemIds: string[];
  /** With `excludeSeen`: requested ids left out because the user already interacted with them. */
  readonly excludedItemIds?: string[];
  /** With a named filter: requested ids the filter left out. */
  readonly filteredItemIds?: string[];
}

/** Orders the given items for the user; unknown users are ranked by the items' popularity prior. */
export function rank(
  model: ServedModel,
  userId: string,
  state: UserState,
  itemIds: readonly string[],
  options: { excludeSeen?: boolean; policy?: ServingPolicy; filter?: AppliedFilter } = {},
): Ranking {
  const known: { itemId: string; index: number }[] = [];
  const unknownItemIds: string[] = [];
  const requested = new Set<string>();
  for (const itemId of itemIds) {
    if (requested.has(itemId)) continue;
    requested.add(itemId);
    const index = model.items.indexOf(itemId);
    if (index === undefined) unknownItemIds.push(itemId);
    else known.push({ itemId, index });
  }
  const history = knownHistory(model, state.recent);
  const baselinesOnly = servesBaselines(model);
  const user =
    state.unavailable || baselinesOnly
      ? undefined
      : userVector(model, userId, state, likedHistory(model, history));
  const seen = options.excludeSeen
    ? seenItems(history, options.policy ?? DEFAULT_POLICY, state.seen)
    : undefined;
  const named = options.filter ? applyFilter(model, {}, options.filter, state.recent) : undefined;
  const passes = named ? known.filter(({ index }) => model.items.accepts(index, named)) : known;
  const candidates = seen ? passes.filter(({ index }) => !seen.has(index)) : passes;
  // Without a user vector, the same popularity prior the recommendation lists answer with.
  const prior = state.unavailable || baselinesOnly ? model.popularity : model.trending;
  const scores = user
    ? model.items.scoreItems(
        user.vector,
        candidates.map(({ index }) => index),
      )
    : candidates.map(({ index }) => Number((prior[index] as number).toPrecision(6)));
  const items = candidates
    .map(({ itemId }, position) => ({
      itemId,
      score: user ? round(scores[position] as number) : (scores[position] as number),
    }))
    .sort((a, b) => b.score - a.score || a.itemId.localeCompare(b.itemId));
  const strategy: Strategy =
    state.unavailable || baselinesOnly ? 'fallback' : user ? 'personalized' : 'cold_start';
  return {
    strategy,
    items,
    unknownItemIds,
    ...(seen
      ? { excludedItemIds: passes.filter(({ index }) => seen.has(index)).map(({ itemId }) => itemId) }
      : {}),
    ...(named
      ? {
          filteredItemIds: known
            .filter(({ index }) => !model.items.accepts(index, named))
            .map(({ itemId }) => itemId),
        }
      : {}),
  };
}

/** Nearest items by the item-kNN baseline (co-occurrence cosine), for a version that serves baselines. */
export function similarByItemKnn(
  model: CatalogueModel,
  index: number,
  k: number,
  filter: ItemFilter,
): ScoredItem[] {
  // An item added since training has no co-occurrences yet: its content vector's neighbours.
  if (index >= trainedItemCount(model)) return model.items.similar(index, k, filter);
  const similar: ScoredItem[] = [];
  forEachNeighbour(model.itemKnn, index, (neighbour, similarity) => {
    if (similar.length >= k) return false;
    if (similarity <= 0 || neighbour === index || !model.items.accepts(neighbour, filter)) return;
    similar.push({ index: neighbour, itemId: model.items.itemIds[neighbour] as string, score: similarity });
  });
  return similar;
}

/** Adds each item's stored attributes (`?include=attributes`); items without any get an empty object. */
export function withAttributes<T extends { itemId: string }>(
  model: Pick<ServedModel, 'items'>,
  items: readonly T[],
): (T & { attributes: Record<string, ServedAttribute> })[] {
  return items.map((item) => {
    const index = model.items.indexOf(item.itemId);
    const stored = index === undefined ? undefined : model.items.attributes[index]?.attributes;
    return { ...item, attributes: { ...stored } };
  });
}

/** Whether the served version is baselines only: no model has passed the quality gate yet. */
export function servesBaselines(model: Pick<ServedModel, 'manifest'>): boolean {
  return model.manifest.serving === 'baselines';
}

/** A baseline item: its score is a share, often well below 1e-6 in a large catalogue, so keep significant digits. */
function plain(item: ScoredItem): RecommendedItem {
  return { itemId: item.itemId, score: Number(item.score.toPrecision(6)) };
}

function round(score: number): number {
  return Number(score.toFixed(6));
}
