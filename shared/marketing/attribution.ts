import { randomBytes } from 'node:crypto';
import { normalQuantile } from './statistics';

/**
 * Attribution of outcomes to what served them. Every recommendations, rank and similar response (and every
 * batch-export list) carries a `recommendationId` that *is* its context — when, which surface, strategy,
 * filter, promotion, experiment variant — so an event that brings it back is attributed without a lookup
 * and nothing is written per recommendation beyond a counter. Counters are per day and context; the report
 * turns them into rates with 95% confidence intervals. Pure functions; storage is attribution-store.ts.
 */
export type Surface = 'recommendations' | 'rank' | 'similar' | 'batch';

export interface ServedContext {
  /** Unix seconds the list was served. */
  readonly servedAt: number;
  readonly surface: Surface;
  readonly strategy: string;
  readonly filter?: string;
  readonly promotion?: string;
  readonly experiment?: string;
  readonly variant?: string;
}

const PREFIX = 'r1.';
const SURFACES: readonly Surface[] = ['recommendations', 'rank', 'similar', 'batch'];
/** Longest id an event may carry (a context with 64-character names stays well below). */
export const MAX_RECOMMENDATION_ID_LENGTH = 512;

/** A fresh id for one served list: its context plus a random nonce (two lists never share an id). */
export function recommendationId(
  context: ServedContext,
  nonce: string = randomBytes(6).toString('hex'),
): string {
  const fields = [context.servedAt, ...contextFields(context), nonce];
  return PREFIX + Buffer.from(JSON.stringify(fields)).toString('base64url');
}

/** A context's fields in a fixed order, names absent as null: what ids and counter keys are made of. */
function contextFields(context: Omit<ServedContext, 'servedAt'>): (string | null)[] {
  return [
    context.surface,
    context.strategy,
    context.filter ?? null,
    context.promotion ?? null,
    context.experiment ?? null,
    context.variant ?? null,
  ];
}

/** The context of fields in `contextFields` order, or undefined when they are not well-formed. */
function contextOfFields(fields: readonly unknown[]): Omit<ServedContext, 'servedAt'> | undefined {
  const [surface, strategy, ...names] = fields;
  if (!SURFACES.includes(surface as Surface) || typeof strategy !== 'string') return undefined;
  const [filter, promotion, experiment, variant] = names.map((name) =>
    typeof name === 'string' ? name : undefined,
  );
  return {
    surface: surface as Surface,
    strategy,
    ...(filter ? { filter } : {}),
    ...(promotion ? { promotion } : {}),
    ...(experiment ? { experiment } : {}),
    ...(variant ? { variant } : {}),
  };
}

/** The context an id was minted with, or undefined when it is not one of ours. */
export function decodeRecommendationId(id: string): ServedContext | undefined {
  if (!id.startsWith(PREFIX) || id.length > MAX_RECOMMENDATION_ID_LENGTH) return undefined;
  let fields: unknown;
  try {
    fields = JSON.parse(Buffer.from(id.slice(PREFIX.length), 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(fields) || fields.length !== 8) return undefined;
  const servedAt: unknown = fields[0];
  if (typeof servedAt !== 'number' || !Number.isInteger(servedAt) || servedAt < 0) return undefined;
  if (typeof fields[7] !== 'string') return undefined;
  const context = contextOfFields(fields.slice(1, 7));
  return context ? { servedAt, ...context } : undefined;
}

/** What a context's counters are kept under: everything but the time and the nonce. */
export function contextKey(context: ServedContext): string {
  return JSON.stringify(contextFields(context));
}

export function contextOfKey(key: string): Omit<ServedContext, 'servedAt'> {
  const context = contextOfFields(JSON.parse(key) as unknown[]);
  if (!context) throw new Error(`attribution counter key ${key} is not a served context`);
  return context;
}

/** Counters of one context (one day, or summed over a range). */
export interface AttributionCounters {
  /** Lists served. */
  requests: number;
  /** Items shown in them. */
  impressions: number;
  clicks: number;
  conversions: number;
  revenue: number;
  /** Sum of squared purchase values: the spread of revenue per impression, for its interval. */
  revenueSquares: number;
}

export const ZERO_COUNTERS: AttributionCounters = {
  requests: 0,
  impressions: 0,
  clicks: 0,
  conversions: 0,
  revenue: 0,
  revenueSquares: 0,
};

/** What one event adds: views and clicks count as clicks, purchases as conversions with their value (as experiments count them). */
export function outcomeOf(event: {
  event_type: string;
  event_value?: number;
}): Partial<AttributionCounters> | undefined {
  if (event.event_type === 'click' || event.event_type === 'view') return { clicks: 1 };
  if (event.event_type === 'purchase') {
    const value = event.event_value ?? 0;
    return { conversions: 1, revenue: value, revenueSquares: value * value };
  }
  return undefined;
}

export interface Rate {
  readonly value: number;
  readonly ci95: [number, number];
}

const Z = normalQuantile(0.975);

/** Wilson score interval: sound at small counts and near 0, where the normal one is not. */
export function wilson(successes: number, trials: number): Rate {
  if (trials === 0) return { value: 0, ci95: [0, 0] };
  const p = Math.min(successes / trials, 1);
  const denominator = 1 + (Z * Z) / trials;
  const centre = (p + (Z * Z) / (2 * trials)) / denominator;
  const half = (Z * Math.sqrt((p * (1 - p)) / trials + (Z * Z) / (4 * trials * trials))) / denominator;
  return { value: round(p), ci95: [round(Math.max(0, centre - half)), round(Math.min(1, centre + half))] };
}

/** Mean revenue per impression with a normal interval (impressions without a purchase count as 0). */
function revenuePerImpression(counters: AttributionCounters): Rate {
  const n = counters.impressions;
  if (n === 0) return { value: 0, ci95: [0, 0] };
  const mean = counters.revenue / n;
  const variance = Math.max(counters.revenueSquares / n - mean * mean, 0);
  const half = Z * Math.sqrt(variance / n);
  return { value: round(mean), ci95: [round(Math.max(0, mean - half)), round(mean + half)] };
}

export interface AttributionRow extends AttributionCounters {
  readonly ctr: Rate;
  readonly conversionRate: Rate;
  readonly revenuePerImpression: Rate;
}

function row(counters: AttributionCounters): AttributionRow {
  return {
    ...counters,
    revenue: round(counters.revenue),
    revenueSquares: round(counters.revenueSquares),
    ctr: wilson(counters.clicks, counters.impressions),
    conversionRate: wilson(counters.conversions, counters.impressions),
    revenuePerImpression: revenuePerImpression(counters),
  };
}

function add(target: AttributionCounters, counters: Partial<AttributionCounters>): void {
  for (const key of Object.keys(ZERO_COUNTERS) as (keyof AttributionCounters)[]) {
    target[key] += counters[key] ?? 0;
  }
}

export interface AttributionReport {
  readonly from: string;
  readonly to: string;
  readonly totals: AttributionRow;
  readonly bySurface: (AttributionRow & { surface: Surface })[];
  readonly byStrategy: (AttributionRow & { strategy: string })[];
  /** `filter: null` = lists served without a named filter. */
  readonly byFilter: (AttributionRow & { filter: string | null })[];
  readonly byPromotion: (AttributionRow & { promotion: string | null })[];
  readonly byExperiment: (AttributionRow & { experiment: string; variant: string })[];
}

/** Sums per-context counters into the report's breakdowns (each sorted by impressions, then name). */
export function attributionReport(
  from: string,
  to: string,
  counters: readonly { key: string; counters: Partial<AttributionCounters> }[],
): AttributionReport {
  const totals = { ...ZERO_COUNTERS };
  const groups = {
    surface: new Map<string, AttributionCounters>(),
    strategy: new Map<string, AttributionCounters>(),
    filter: new Map<string, AttributionCounters>(),
    promotion: new Map<string, AttributionCounters>(),
    experiment: new Map<string, AttributionCounters>(),
  };
  const into = (map: Map<string, AttributionCounters>, key: string, values: Partial<AttributionCounters>) => {
    const target = map.get(key) ?? { ...ZERO_COUNTERS };
    add(target, values);
    map.set(key, target);
  };
  for (const entry of counters) {
    const context = contextOfKey(entry.key);
    add(totals, entry.counters);
    into(groups.surface, context.surface, entry.counters);
    into(groups.strategy, context.strategy, entry.counters);
    into(groups.filter, JSON.stringify(context.filter ?? null), entry.counters);
    into(groups.promotion, JSON.stringify(context.promotion ?? null), entry.counters);
    if (context.experiment && context.variant) {
      into(groups.experiment, JSON.stringify([context.experiment, context.variant]), entry.counters);
    }
  }
  const sorted = <T>(map: Map<string, AttributionCounters>, label: (key: string) => T) =>
    [...map]
      .sort(([a, x], [b, y]) => y.impressions - x.impressions || a.localeCompare(b))
      .map(([key, values]) => ({ ...label(key), ...row(values) }));
  return {
    from,
    to,
    totals: row(totals),
    bySurface: sorted(groups.surface, (key) => ({ surface: key as Surface })),
    byStrategy: sorted(groups.strategy, (key) => ({ strategy: key })),
    byFilter: sorted(groups.filter, (key) => ({ filter: JSON.parse(key) as string | null })),
    byPromotion: sorted(groups.promotion, (key) => ({ promotion: JSON.parse(key) as string | null })),
    byExperiment: sorted(groups.experiment, (key) => {
      const [experiment, variant] = JSON.parse(key) as [string, string];
      return { experiment, variant };
    }),
  };
}

function round(value: number): number {
  return Number(value.toFixed(6));
}
