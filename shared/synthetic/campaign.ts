import { SeededRandom } from '../data/random';

/**
 * A randomized campaign with a known uplift function, for tests, the demo and the benchmark. Customers have
 * the usual CRM columns; the campaign is sent to a random half (or `treatedShare`). Three kinds of customer
 * answer it differently, as in the uplift literature:
 *
 * - **persuadables** — recent web visitors: the campaign raises their purchase odds a lot;
 * - **sleeping dogs** — long-standing store customers over 60: it annoys them, their odds fall;
 * - everyone else — sure things and lost causes: no effect.
 *
 * Who buys *anyway* depends on other columns (visits, tenure, and the sleeping dogs' high loyalty), so
 * targeting by plain propensity sends the campaign to sure things and sleeping dogs.
 */
export interface CampaignOptions {
  readonly rows: number;
  readonly seed?: number;
  /** @default 0.5 */
  readonly treatedShare?: number;
  /** `binary`: purchased yes/no; `numeric`: spend (0 for non-buyers). @default 'binary' */
  readonly outcome?: 'binary' | 'numeric';
}

export interface SyntheticCampaign {
  /** CSV text: customer_id, age, tenure_months, recency_days, visits, channel, region, group, outcome column. */
  readonly csv: string;
  readonly outcomeColumn: 'purchased' | 'spend';
  /** Each customer's true uplift (probability points for binary outcomes, expected spend otherwise). */
  readonly trueUplift: Float64Array;
  /** The mean of the true uplift over all customers (the campaign's true average effect). */
  readonly trueAte: number;
  readonly treated: Uint8Array;
}

const CHANNELS = ['web', 'store', 'phone'];
const REGIONS = ['north', 'south', 'east', 'west'];
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
/** Mean basket of a buyer; spend scales the purchase probability by it. */
const BASKET = 60;

export function generateCampaign(options: CampaignOptions): SyntheticCampaign {
  const random = new SeededRandom(options.seed ?? 11);
  const share = options.treatedShare ?? 0.5;
  const numeric = options.outcome === 'numeric';
  const outcomeColumn = numeric ? 'spend' : 'purchased';
  const lines = [`customer_id,age,tenure_months,recency_days,visits,channel,region,group,${outcomeColumn}`];
  const trueUplift = new Float64Array(options.rows);
  const treated = new Uint8Array(options.rows);
  for (let row = 0; row < options.rows; row++) {
    const age = 18 + Math.floor(random.next() * 62);
    const tenure = Math.floor(random.next() * 120);
    const recency = Math.floor(-Math.log(1 - random.next() * 0.999) * 60);
    const visits = Math.floor(-Math.log(1 - random.next() * 0.999) * 4);
    const channel = CHANNELS[Math.floor(random.next() * CHANNELS.length)] as string;
    const region = REGIONS[Math.floor(random.next() * REGIONS.length)] as string;
    const sleepingDog = channel === 'store' && age > 60;
    // Buying anyway: visits and tenure, and the loyal older store customers most of all.
    const base = -2.6 + 0.25 * Math.min(visits, 10) + 0.006 * tenure + (sleepingDog ? 1.2 : 0);
    // The campaign's effect on the log-odds: large for recent web visitors, negative for sleeping dogs.
    const persuadable = channel === 'web' && recency < 30;
    const effect = persuadable ? 1.3 : sleepingDog ? -0.9 : 0;
    const p0 = sigmoid(base);
    const p1 = sigmoid(base + effect);
    trueUplift[row] = numeric ? (p1 - p0) * BASKET : p1 - p0;
    const isTreated = random.next() < share ? 1 : 0;
    treated[row] = isTreated;
    const bought = random.next() < (isTreated ? p1 : p0);
    const outcome = numeric
      ? bought
        ? (BASKET * (0.5 + random.next())).toFixed(2)
        : '0'
      : bought
        ? '1'
        : '0';
    lines.push(
      `c${row + 1},${age},${tenure},${recency},${visits},${channel},${region},${isTreated ? 'email' : 'control'},${outcome}`,
    );
  }
  const trueAte = trueUplift.reduce((sum, value) => sum + value, 0) / Math.max(options.rows, 1);
  return { csv: `${lines.join('\n')}\n`, outcomeColumn, trueUplift, trueAte, treated };
}
