import { csvLine } from '../data/formats';
import { SeededRandom } from '../data/random';

/**
 * A synthetic impression log with a known click model, for `mappa ctr-eval`'s tests and benchmark: users and
 * items have latent tastes, and an impression is clicked with probability
 * σ(base + affinity · u·i + item appeal − position effect + device effect). The affinity term is what only a
 * model of (user, item) pairs can learn; per-user and per-item click rates capture the rest.
 */
export interface ImpressionLogOptions {
  readonly users: number;
  readonly items: number;
  readonly impressions: number;
  readonly seed?: number;
  /** Weight of the user–item affinity in the click logit. @default 1.5 */
  readonly affinity?: number;
}

export const IMPRESSION_COLUMNS = [
  'user_id',
  'item_id',
  'timestamp',
  'position',
  'device',
  'clicked',
] as const;

const DIMENSIONS = 4;
const START = 1_735_689_600; // 2025-01-01

export function syntheticImpressionLog(options: ImpressionLogOptions): {
  csv: string;
  clickProbabilities: Float64Array;
} {
  const random = new SeededRandom(options.seed ?? 3);
  const latent = (count: number) =>
    Array.from({ length: count }, () =>
      Array.from({ length: DIMENSIONS }, () => random.normal() / Math.sqrt(DIMENSIONS)),
    );
  const users = latent(options.users);
  const items = latent(options.items);
  const appeal = Array.from({ length: options.items }, () => 0.5 * random.normal());
  const affinity = options.affinity ?? 1.5;
  const lines = [csvLine(IMPRESSION_COLUMNS)];
  const clickProbabilities = new Float64Array(options.impressions);
  for (let row = 0; row < options.impressions; row++) {
    const user = random.int(options.users);
    const item = random.int(options.items);
    const position = 1 + random.int(10);
    const device = random.bernoulli(0.6) ? 'mobile' : 'desktop';
    let dot = 0;
    for (let d = 0; d < DIMENSIONS; d++) dot += (users[user]?.[d] as number) * (items[item]?.[d] as number);
    const logit =
      -1.6 +
      affinity * dot * 2 +
      (appeal[item] as number) -
      0.12 * (position - 1) +
      (device === 'mobile' ? 0.25 : 0);
    const p = 1 / (1 + Math.exp(-logit));
    clickProbabilities[row] = p;
    const timestamp = START + Math.floor((row / options.impressions) * 60 * 86_400);
    lines.push(csvLine([`u${user}`, `i${item}`, timestamp, position, device, random.bernoulli(p) ? 1 : 0]));
  }
  return { csv: `${lines.join('\n')}\n`, clickProbabilities };
}
