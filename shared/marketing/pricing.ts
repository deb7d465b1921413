import { solveSymmetric } from './logistic-regression';
import { studentQuantile } from './statistics';
import { type Table, TableError } from './tabular';

/**
 * Price elasticity and price recommendations from purchase history (`mappa price-eval`).
 *
 * Sales are aggregated per item, segment and week. Elasticities come from a log-log demand model with two-way
 * fixed effects — log q = α(item, segment) + γ(week) + β(category, segment)·log p — so an item's level and
 * each week's season or trend are controlled for and only price moves within an item identify β. Fixed
 * effects are removed by alternating projections (Frisch–Waugh–Lovell), β by least squares with standard
 * errors clustered by item (an item's weeks are not independent). Item-level elasticities are shrunk toward
 * their category × segment's by empirical Bayes, so a sparse item borrows strength.
 *
 * With constant elasticity β and a cost share κ of the current price, profit at price multiplier m is
 * (m − κ)·m^β: its maximum is m* = κ·β/(1 + β) when β < −1 (else "raise to the bound"); without costs revenue
 * m^(1+β) is maximised at a bound. m* is clipped to the user's bounds (±20% by default), and where the
 * elasticity's interval does not settle the direction, the recommendation is to keep the price, with a warning.
 */

export interface PriceColumns {
  readonly item: string;
  readonly price: string;
  readonly time: string;
  readonly category?: string;
  readonly segment?: string;
  readonly quantity?: string;
  readonly cost?: string;
}

export interface PriceEvalOptions {
  readonly columns?: Partial<PriceColumns>;
  /** Largest price move recommended, as a share of the current price. @default 0.2 */
  readonly bounds?: number;
  /** Fewer item-weeks than this in a category × segment: too thin to decide. @default 30 */
  readonly minCells?: number;
}

export interface ElasticityEstimate {
  readonly estimate: number;
  readonly standardError: number;
  readonly ci95: readonly [number, number];
}

export interface GroupPricing {
  readonly category: string;
  readonly segment: string;
  /** Item-weeks with sales that identify the elasticity. */
  readonly cells: number;
  readonly items: number;
  readonly units: number;
  readonly elasticity: ElasticityEstimate;
  readonly objective: 'profit' | 'revenue';
  /** Cost as a share of the current price (quantity-weighted), when costs are known. */
  readonly costShare: number | null;
  readonly decision: 'raise' | 'cut' | 'keep';
  /** Recommended price as a multiple of the current one (1 = keep). */
  readonly priceMultiplier: number;
  /** Expected relative change of profit (or revenue) at the recommended price, with the elasticity's interval. */
  readonly expectedChange: { readonly estimate: number; readonly ci95: readonly [number, number] };
  readonly warning?: string;
  /** Relative demand and profit (or revenue) over price multipliers, for the report's demand curves. */
  readonly curve: readonly { multiplier: number; demand: number; objective: number }[];
}

export interface ItemElasticity {
  readonly item: string;
  readonly category: string;
  readonly segment: string;
  readonly cells: number;
  /** The item's own estimate (null with fewer than 3 weeks of price variation). */
  readonly own: number | null;
  /** Shrunk toward the category × segment: weight × own + (1 − weight) × group. */
  readonly shrunk: number;
  readonly weight: number;
}

export interface PriceEvalResult {
  readonly rows: number;
  readonly cells: number;
  readonly weeks: number;
  readonly columns: PriceColumns;
  readonly bounds: number;
  readonly groups: readonly GroupPricing[];
  /** Categories × segments left out, and why (prices that never moved leave nothing to estimate). */
  readonly unidentified: readonly { category: string; segment: string; reason: string }[];
  readonly items: readonly ItemElasticity[];
  readonly seconds: number;
}

interface Cell {
  readonly itemSegment: number;
  readonly week: number;
  readonly group: number;
  readonly logPrice: number;
  readonly logQuantity: number;
}

function findColumn(
  table: Table,
  wanted: string | undefined,
  candidates: readonly string[],
  role: string,
  required: boolean,
): string | undefined {
  const options = wanted !== undefined ? [wanted] : candidates;
  const found = options.find((name) => table.columns.includes(name));
  if (!found && required) {
    throw new TableError(
      `${role} column ${wanted !== undefined ? `'${wanted}'` : `(one of ${candidates.join(', ')})`} is not in the file (columns: ${table.columns.join(', ')})`,
    );
  }
  if (!found && wanted !== undefined) {
    throw new TableError(
      `${role} column '${wanted}' is not in the file (columns: ${table.columns.join(', ')})`,
    );
  }
  return found;
}

/** Week number of a time value: an integer week, Unix seconds/milliseconds, or an ISO date. */
function weekOf(raw: string, row: number, column: string): number {
  const number = Number(raw);
  if (raw !== '' && Number.isFinite(number)) {
    if (number < 10_000) return Math.floor(number); // already a period number
    const seconds = number > 100_000_000_000 ? number / 1000 : number;
    return Math.floor(seconds / 604_800);
  }
  const parsed = Date.parse(raw);
  if (Number.isNaN(parsed))
    throw new TableError(
      `${column} on data row ${row + 1} is '${raw}': not a week number, Unix time or date`,
    );
  return Math.floor(parsed / 604_800_000);
}

function positiveNumber(raw: string, row: number, column: string): number {
  const value = Number(raw);
  if (raw === '' || !Number.isFinite(value) || value <= 0) {
    throw new TableError(`${column} on data row ${row + 1} is '${raw}': not a positive number`);
  }
  return value;
}

/** Demeans each column by the two fixed effects in turn until nothing moves (alternating projections). */
function absorbFixedEffects(
  columns: Float64Array[],
  first: Int32Array,
  firstCount: number,
  second: Int32Array,
  secondCount: number,
): void {
  const n = first.length;
  for (const values of columns) {
    for (let iteration = 0; iteration < 200; iteration++) {
      let moved = 0;
      for (const [groups, count] of [
        [first, firstCount],
        [second, secondCount],
      ] as const) {
        const sums = new Float64Array(count);
        const counts = new Float64Array(count);
        for (let row = 0; row < n; row++) {
          sums[groups[row] as number] = (sums[groups[row] as number] as number) + (values[row] as number);
          counts[groups[row] as number] = (counts[groups[row] as number] as number) + 1;
        }
        for (let row = 0; row < n; row++) {
          const mean = (sums[groups[row] as number] as number) / (counts[groups[row] as number] as number);
          values[row] = (values[row] as number) - mean;
          moved = Math.max(moved, Math.abs(mean));
        }
      }
      if (moved < 1e-10) break;
    }
  }
}

/** Inverse of a small symmetric positive definite matrix, column by column. */
function invert(matrix: Float64Array, d: number): Float64Array {
  const inverse = new Float64Array(d * d);
  for (let column = 0; column < d; column++) {
    const unit = new Float64Array(d);
    unit[column] = 1;
    const solved = solveSymmetric(matrix, unit, d);
    for (let row = 0; row < d; row++) inverse[row * d + column] = solved[row] as number;
  }
  return inverse;
}

function objectiveAt(multiplier: number, elasticity: number, costShare: number | null): number {
  return (multiplier - (costShare ?? 0)) * multiplier ** elasticity;
}

/** The best multiplier within the bounds for one elasticity (the objective is unimodal in m). */
function bestMultiplier(elasticity: number, costShare: number | null, bounds: number): number {
  const [low, high] = [1 - bounds, 1 + bounds];
  if (costShare !== null && costShare > 0 && elasticity < -1) {
    return Math.min(high, Math.max(low, (costShare * elasticity) / (1 + elasticity)));
  }
  // Revenue (or profit with an inelastic demand): monotone in price, so a bound wins.
  const atLow = objectiveAt(low, elasticity, costShare);
  const atHigh = objectiveAt(high, elasticity, costShare);
  return atHigh >= atLow ? high : low;
}

export function evaluatePricing(table: Table, options: PriceEvalOptions = {}): PriceEvalResult {
  const started = Date.now();
  const wanted = options.columns ?? {};
  const columns: PriceColumns = {
    item: findColumn(table, wanted.item, ['item_id', 'item', 'sku'], 'item', true) as string,
    price: findColumn(table, wanted.price, ['price', 'event_value', 'price_paid'], 'price', true) as string,
    time: findColumn(table, wanted.time, ['week', 'date', 'timestamp'], 'time', true) as string,
    ...optional('category', findColumn(table, wanted.category, ['category'], 'category', false)),
    ...optional('segment', findColumn(table, wanted.segment, ['segment'], 'segment', false)),
    ...optional(
      'quantity',
      findColumn(table, wanted.quantity, ['quantity', 'units', 'qty'], 'quantity', false),
    ),
    ...optional('cost', findColumn(table, wanted.cost, ['cost', 'unit_cost'], 'cost', false)),
  };
  const bounds = options.bounds ?? 0.2;
  const minCells = options.minCells ?? 30;
  const column = (name: string | undefined) =>
    name === undefined ? undefined : (table.values[table.columns.indexOf(name)] as readonly string[]);
  const items = column(columns.item) as readonly string[];
  const prices = column(columns.price) as readonly string[];
  const times = column(columns.time) as readonly string[];
  const categories = column(columns.category);
  const segments = column(columns.segment);
  const quantities = column(columns.quantity);
  const costs = column(columns.cost);

  // Aggregate to item × segment × week: units, revenue (for the average price paid) and cost.
  interface Aggregate {
    item: string;
    category: string;
    segment: string;
    week: number;
    units: number;
    revenue: number;
    cost: number;
  }
  const aggregates = new Map<string, Aggregate>();
  const categoryOfItem = new Map<string, string>();
  for (let row = 0; row < table.rows; row++) {
    const item = items[row] as string;
    const price = positiveNumber(prices[row] as string, row, columns.price);
    const units = quantities ? positiveNumber(quantities[row] as string, row, columns.quantity as string) : 1;
    const week = weekOf(times[row] as string, row, columns.time);
    const category = categories?.[row] || 'all';
    const segment = segments?.[row] || 'all';
    const known = categoryOfItem.get(item);
    if (known !== undefined && known !== category) {
      throw new TableError(
        `item '${item}' is in category '${known}' and, on data row ${row + 1}, '${category}'`,
      );
    }
    categoryOfItem.set(item, category);
    const key = `${item}\u0000${segment}\u0000${week}`;
    const aggregate = aggregates.get(key) ?? { item, category, segment, week, units: 0, revenue: 0, cost: 0 };
    aggregate.units += units;
    aggregate.revenue += price * units;
    aggregate.cost += (costs ? positiveNumber(costs[row] as string, row, columns.cost as string) : 0) * units;
    aggregates.set(key, aggregate);
  }
  const ids = <T>(values: Iterable<T>) => new Map([...new Set(values)].map((value, index) => [value, index]));
  const list = [...aggregates.values()];
  const groupIds = ids(list.map((a) => `${a.category}\u0000${a.segment}`));
  const itemSegmentIds = ids(list.map((a) => `${a.item}\u0000${a.segment}`));
  const weekIds = ids(list.map((a) => a.week));
  const cells: Cell[] = list.map((a) => ({
    itemSegment: itemSegmentIds.get(`${a.item}\u0000${a.segment}`) as number,
    week: weekIds.get(a.week) as number,
    group: groupIds.get(`${a.category}\u0000${a.segment}`) as number,
    logPrice: Math.log(a.revenue / a.units),
    logQuantity: Math.log(a.units),
  }));
  const g = groupIds.size;
  const n = cells.length;
  if (n < g + 2)
    throw new TableError(`only ${n} item-weeks with sales: too few to estimate price elasticities`);

  // A category × segment whose prices never move within an item has no elasticity to find: left out, named.
  const withinVariation = new Float64Array(g);
  const itemSegmentMeans = new Map<number, { sum: number; count: number }>();
  for (const cell of cells) {
    const mean = itemSegmentMeans.get(cell.itemSegment) ?? { sum: 0, count: 0 };
    mean.sum += cell.logPrice;
    mean.count++;
    itemSegmentMeans.set(cell.itemSegment, mean);
  }
  for (const cell of cells) {
    const mean = itemSegmentMeans.get(cell.itemSegment) as { sum: number; count: number };
    withinVariation[cell.group] =
      (withinVariation[cell.group] as number) + (cell.logPrice - mean.sum / mean.count) ** 2;
  }
  const unidentified = [...groupIds]
    .filter(([, group]) => (withinVariation[group] as number) < 1e-8)
    .map(([key]) => key);
  if (unidentified.length === groupIds.size) {
    throw new TableError(
      'no item’s price ever moved: price elasticity cannot be estimated from this history',
    );
  }
  if (unidentified.length > 0) {
    const drop = new Set(unidentified);
    const keep = Array.from({ length: table.rows }, (_, row) => row).filter(
      (row) => !drop.has(`${categories?.[row] || 'all'}\u0000${segments?.[row] || 'all'}`),
    );
    const rest = evaluatePricing(
      {
        columns: table.columns,
        values: table.values.map((values) => keep.map((row) => values[row] as string)),
        rows: keep.length,
      },
      { ...options, columns },
    );
    return {
      ...rest,
      rows: table.rows,
      unidentified: [
        ...rest.unidentified,
        ...unidentified.map((key) => {
          const [category, segment] = key.split('\u0000') as [string, string];
          return {
            category,
            segment,
            reason: 'its prices never moved within an item: no elasticity to estimate',
          };
        }),
      ],
      seconds: (Date.now() - started) / 1000,
    };
  }
  const y = Float64Array.from(cells, (cell) => cell.logQuantity);
  const xs = Array.from({ length: g }, (_, group) =>
    Float64Array.from(cells, (cell) => (cell.group === group ? cell.logPrice : 0)),
  );
  const first = Int32Array.from(cells, (cell) => cell.itemSegment);
  const second = Int32Array.from(cells, (cell) => cell.week);
  absorbFixedEffects([y, ...xs], first, itemSegmentIds.size, second, weekIds.size);

  const xtx = new Float64Array(g * g);
  const xty = new Float64Array(g);
  for (let a = 0; a < g; a++) {
    for (let row = 0; row < n; row++)
      xty[a] = (xty[a] as number) + (xs[a]?.[row] as number) * (y[row] as number);
    for (let b = a; b < g; b++) {
      let sum = 0;
      for (let row = 0; row < n; row++) sum += (xs[a]?.[row] as number) * (xs[b]?.[row] as number);
      xtx[a * g + b] = sum;
      xtx[b * g + a] = sum;
    }
  }
  for (let a = 0; a < g; a++) xtx[a * g + a] = (xtx[a * g + a] as number) + 1e-12;
  const beta = solveSymmetric(xtx, xty, g);
  const residual = Float64Array.from(y, (value, row) => {
    let fitted = 0;
    for (let a = 0; a < g; a++) fitted += (beta[a] as number) * (xs[a]?.[row] as number);
    return value - fitted;
  });
  // Cluster-robust covariance by item: (X'X)⁻¹ Σ_c (X_c'e_c)(X_c'e_c)' (X'X)⁻¹ · C/(C−1).
  const itemOfCell = list.map((a) => a.item);
  const clusterIds = ids(itemOfCell);
  const scores = new Float64Array(clusterIds.size * g);
  for (let row = 0; row < n; row++) {
    const cluster = clusterIds.get(itemOfCell[row] as string) as number;
    for (let a = 0; a < g; a++)
      scores[cluster * g + a] =
        (scores[cluster * g + a] as number) + (xs[a]?.[row] as number) * (residual[row] as number);
  }
  const meat = new Float64Array(g * g);
  for (let cluster = 0; cluster < clusterIds.size; cluster++) {
    for (let a = 0; a < g; a++)
      for (let b = 0; b < g; b++)
        meat[a * g + b] =
          (meat[a * g + b] as number) +
          (scores[cluster * g + a] as number) * (scores[cluster * g + b] as number);
  }
  const bread = invert(xtx, g);
  const clusters = clusterIds.size;
  const correction = clusters > 1 ? clusters / (clusters - 1) : 1;
  const variance = (a: number) => {
    let sum = 0;
    for (let i = 0; i < g; i++)
      for (let j = 0; j < g; j++)
        sum += (bread[a * g + i] as number) * (meat[i * g + j] as number) * (bread[j * g + a] as number);
    return sum * correction;
  };
  const t = studentQuantile(0.05, Math.max(clusters - 1, 1));

  const groups: GroupPricing[] = [...groupIds].map(([key, group]) => {
    const [category, segment] = key.split('\u0000') as [string, string];
    const members = list.filter((a) => a.category === category && a.segment === segment);
    const units = members.reduce((sum, a) => sum + a.units, 0);
    const revenue = members.reduce((sum, a) => sum + a.revenue, 0);
    const cost = members.reduce((sum, a) => sum + a.cost, 0);
    const costShare = costs ? cost / revenue : null;
    const estimate = beta[group] as number;
    const standardError = Math.sqrt(Math.max(variance(group), 0));
    const ci95: [number, number] = [estimate - t * standardError, estimate + t * standardError];
    const objective = costShare === null ? 'revenue' : 'profit';
    const chosen = bestMultiplier(estimate, costShare, bounds);
    const atEnds = ci95.map((value) => bestMultiplier(value, costShare, bounds));
    let warning: string | undefined;
    if (members.length < minCells)
      warning = `only ${members.length} item-weeks with sales (fewer than ${minCells}): too thin to decide`;
    else if (atEnds.some((m) => Math.sign(m - 1) !== Math.sign(chosen - 1))) {
      warning = `the elasticity's 95% interval (${ci95.map((value) => value.toFixed(2)).join(' to ')}) does not settle whether to raise or cut the price: more price variation or weeks are needed`;
    }
    const multiplier = warning ? 1 : Number(chosen.toFixed(4));
    const change = (elasticity: number) =>
      objectiveAt(multiplier, elasticity, costShare) / objectiveAt(1, elasticity, costShare) - 1;
    const changes = ci95.map(change);
    return {
      category,
      segment,
      cells: members.length,
      items: new Set(members.map((a) => a.item)).size,
      units,
      elasticity: { estimate, standardError, ci95 },
      objective,
      costShare,
      decision: multiplier > 1 ? 'raise' : multiplier < 1 ? 'cut' : 'keep',
      priceMultiplier: multiplier,
      expectedChange: { estimate: change(estimate), ci95: [Math.min(...changes), Math.max(...changes)] },
      ...(warning ? { warning } : {}),
      curve: Array.from({ length: 13 }, (_, index) => {
        const m = 1 - bounds * 1.5 + (index * bounds * 3) / 12;
        return {
          multiplier: Number(m.toFixed(3)),
          demand: m ** estimate,
          objective: objectiveAt(m, estimate, costShare) / objectiveAt(1, estimate, costShare),
        };
      }),
    };
  });

  const itemsOut = shrinkItemElasticities(cells, list, xs, y, groupIds, beta);
  return {
    rows: table.rows,
    cells: n,
    weeks: weekIds.size,
    columns,
    bounds,
    groups: groups.sort((a, b) => a.category.localeCompare(b.category) || a.segment.localeCompare(b.segment)),
    unidentified: [],
    items: itemsOut,
    seconds: (Date.now() - started) / 1000,
  };
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

/** Each item × segment's own slope on the demeaned data, shrunk toward its group by empirical Bayes. */
function shrinkItemElasticities(
  cells: readonly Cell[],
  list: readonly { item: string; category: string; segment: string }[],
  xs: readonly Float64Array[],
  y: Float64Array,
  groupIds: ReadonlyMap<string, number>,
  beta: Float64Array,
): ItemElasticity[] {
  const byItemSegment = new Map<number, number[]>();
  cells.forEach((cell, row) =>
    byItemSegment.set(cell.itemSegment, [...(byItemSegment.get(cell.itemSegment) ?? []), row]),
  );
  const raw = [...byItemSegment.values()].map((rows) => {
    const first = list[rows[0] as number] as { item: string; category: string; segment: string };
    const group = groupIds.get(`${first.category}\u0000${first.segment}`) as number;
    const x = xs[group] as Float64Array;
    let sxx = 0;
    let sxy = 0;
    for (const row of rows) {
      sxx += (x[row] as number) ** 2;
      sxy += (x[row] as number) * (y[row] as number);
    }
    const own = rows.length >= 3 && sxx > 1e-9 ? sxy / sxx : null;
    let sse = 0;
    if (own !== null) for (const row of rows) sse += ((y[row] as number) - own * (x[row] as number)) ** 2;
    const variance =
      own !== null && rows.length > 2 ? sse / (rows.length - 2) / sxx : Number.POSITIVE_INFINITY;
    return { ...first, group, cells: rows.length, own, variance };
  });
  // Between-item variance of true elasticities per group, by the method of moments (floored).
  const spread = new Map<number, number>();
  for (const group of new Set(raw.map((entry) => entry.group))) {
    const members = raw.filter(
      (entry) => entry.group === group && entry.own !== null && Number.isFinite(entry.variance),
    );
    if (members.length < 2) {
      spread.set(group, 0);
      continue;
    }
    const center = beta[group] as number;
    const observed =
      members.reduce((sum, entry) => sum + ((entry.own as number) - center) ** 2, 0) / members.length;
    const noise = members.reduce((sum, entry) => sum + entry.variance, 0) / members.length;
    spread.set(group, Math.max(observed - noise, 1e-4));
  }
  return raw
    .map((entry) => {
      const center = beta[entry.group] as number;
      const tau = spread.get(entry.group) ?? 0;
      const weight =
        entry.own === null || !Number.isFinite(entry.variance) ? 0 : tau / (tau + entry.variance);
      return {
        item: entry.item,
        category: entry.category,
        segment: entry.segment,
        cells: entry.cells,
        own: entry.own,
        shrunk: weight * (entry.own ?? center) + (1 - weight) * center,
        weight,
      };
    })
    .sort(
      (a, b) =>
        a.item.localeCompare(b.item, undefined, { numeric: true }) || a.segment.localeCompare(b.segment),
    );
}
