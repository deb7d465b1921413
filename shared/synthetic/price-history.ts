import { SeededRandom } from '../data/random';

/**
 * Weekly sales of items whose prices move (promotions, list-price changes), with known price elasticities per
 * category and customer segment — for `mappa price-eval`'s tests, the demo and the docs. Demand of an item in
 * a segment in a week is Poisson with mean A·(p / list)^β·season(week): β is the elasticity to recover.
 * One row per (item, segment, week) with sales: item_id, category, segment, week, price, list_price, cost,
 * quantity.
 */
export interface PriceHistoryOptions {
  readonly seed?: number;
  readonly itemsPerCategory?: number;
  readonly weeks?: number;
}

/** Elasticity by category and segment: bargain hunters react more than loyal customers. */
export const TRUE_ELASTICITIES: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  grocery: { loyal: -0.6, bargain: -1.8 },
  fashion: { loyal: -1.4, bargain: -2.6 },
  electronics: { loyal: -1.1, bargain: -2.1 },
};

export interface PriceHistory {
  readonly csv: string;
  readonly rows: number;
  readonly elasticities: typeof TRUE_ELASTICITIES;
}

/** Knuth's method for small means, the normal approximation above 30 (ample for weekly unit sales). */
function poisson(random: SeededRandom, mean: number): number {
  if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * random.normal()));
  const limit = Math.exp(-mean);
  let count = 0;
  let product = random.next();
  while (product > limit) {
    count++;
    product *= random.next();
  }
  return count;
}

const PRICE_MOVES = [1, 1, 1, 0.9, 0.8, 0.85, 1.1, 0.95, 1.05, 0.7];

export function generatePriceHistory(options: PriceHistoryOptions = {}): PriceHistory {
  const random = new SeededRandom(options.seed ?? 17);
  const weeks = options.weeks ?? 52;
  const itemsPerCategory = options.itemsPerCategory ?? 20;
  const lines = ['item_id,category,segment,week,price,list_price,cost,quantity'];
  let item = 0;
  for (const [category, bySegment] of Object.entries(TRUE_ELASTICITIES)) {
    for (let index = 0; index < itemsPerCategory; index++) {
      item++;
      const listPrice = Number((5 + random.next() * 95).toFixed(2));
      const cost = Number((listPrice * (0.45 + random.next() * 0.2)).toFixed(2));
      // Tens to a couple of hundred units per item and week: log-linear least squares is biased on small counts.
      const scale = 60 + random.next() * 120;
      for (let week = 1; week <= weeks; week++) {
        // One price per item and week for every segment, as a shop sets it.
        const price = Number(
          (listPrice * (PRICE_MOVES[random.int(PRICE_MOVES.length)] as number)).toFixed(2),
        );
        const season = 1 + 0.25 * Math.sin((2 * Math.PI * week) / 52);
        for (const [segment, elasticity] of Object.entries(bySegment)) {
          const base = segment === 'bargain' ? scale * 1.5 : scale;
          const quantity = poisson(random, base * (price / listPrice) ** elasticity * season);
          if (quantity === 0) continue;
          lines.push(`i${item},${category},${segment},${week},${price},${listPrice},${cost},${quantity}`);
        }
      }
    }
  }
  return { csv: `${lines.join('\n')}\n`, rows: lines.length - 1, elasticities: TRUE_ELASTICITIES };
}
