import type { KnownEventType } from '../data/formats';
import { AliasTable, SeededRandom } from '../data/random';

/**
 * A synthetic marketing dataset with structure a model can learn: users and
 * items drawn from latent factors around category centroids, popularity that
 * follows a power law, time-ordered sessions in which the next item depends on
 * the previous one (a recency effect), a view → add_to_cart → purchase funnel
 * with revenue, and campaign exposures whose conversion depends on behaviour.
 * Deterministic by seed. Rows are produced one at a time, so a 5M-row file
 * needs no more memory than a 5k-row one.
 */
export interface SyntheticConfig {
  readonly seed: number;
  readonly users: number;
  readonly items: number;
  /** Target number of interaction rows (the actual count is within a few percent). */
  readonly interactions: number;
  /** Width of the hidden taste vectors. @default 8 */
  readonly latentDim?: number;
  /** First possible event time, Unix seconds. @default 1_735_689_600 (2025-01-01) */
  readonly startTime?: number;
  /** Length of the activity window in days. @default 120 */
  readonly days?: number;
}

export const SYNTHETIC_PRESETS = {
  tiny: { seed: 7, users: 60, items: 40, interactions: 1_500 },
  /** The smallest world where the model beats popularity by a wide margin every run (demo test, ~10 s). */
  compact: { seed: 7, users: 300, items: 120, interactions: 9_000 },
  small: { seed: 7, users: 1_000, items: 400, interactions: 40_000 },
  medium: { seed: 7, users: 10_000, items: 3_000, interactions: 300_000 },
  large: { seed: 7, users: 50_000, items: 20_000, interactions: 1_200_000 },
  /** Shop scale for the training benchmark: ~10^7 interactions, 10^6 users, 2·10^5 items. */
  xlarge: { seed: 7, users: 1_000_000, items: 200_000, interactions: 10_000_000 },
} as const satisfies Record<string, SyntheticConfig>;
export type SyntheticPreset = keyof typeof SYNTHETIC_PRESETS;

export const CATEGORIES = [
  'electronics',
  'books',
  'fashion',
  'home',
  'beauty',
  'sports',
  'toys',
  'grocery',
] as const;
const CATEGORY_MEAN_PRICE: Record<(typeof CATEGORIES)[number], number> = {
  electronics: 180,
  books: 18,
  fashion: 55,
  home: 70,
  beauty: 25,
  sports: 60,
  toys: 30,
  grocery: 8,
};
const REGIONS = ['north', 'south', 'east', 'west', 'central'] as const;
const LOYALTY_TIERS = ['none', 'silver', 'gold'] as const;
const CAMPAIGNS = ['spring_sale', 'loyalty_push', 'winback'] as const;
const CHANNELS = ['email', 'push', 'sms'] as const;
const BRANDS_PER_CATEGORY = 6;

export interface SyntheticItem {
  readonly itemId: string;
  readonly category: string;
  readonly price: number;
  readonly brand: string;
}

export interface SyntheticUser {
  readonly userId: string;
  readonly age: number;
  readonly region: string;
  readonly loyaltyTier: string;
  readonly signupTimestamp: number;
}

export interface SyntheticInteraction {
  readonly userId: string;
  readonly itemId: string;
  readonly timestamp: number;
  readonly eventType: KnownEventType;
  /** Revenue for purchases, cart value for add_to_cart; absent for views. */
  readonly eventValue?: number;
}

export interface SyntheticCampaignExposure {
  readonly campaignId: string;
  readonly userId: string;
  readonly timestamp: number;
  readonly channel: string;
  readonly converted: 0 | 1;
  readonly revenue: number;
}

interface ItemState {
  readonly vector: Float64Array;
  readonly category: number;
  readonly price: number;
}

interface UserState {
  readonly vector: Float64Array;
  readonly activity: number;
  readonly loyalty: number;
}

/** Latent structure shared by all the row streams of one dataset. */
export class SyntheticWorld {
  readonly config: Required<SyntheticConfig>;
  readonly items: SyntheticItem[] = [];
  readonly users: SyntheticUser[] = [];
  private readonly itemStates: ItemState[] = [];
  private readonly userStates: UserState[] = [];
  private readonly popularity: AliasTable;
  private readonly byCategory: { items: number[]; sampler: AliasTable }[] = [];

  constructor(config: SyntheticConfig) {
    if (config.users < 1 || config.items < 2 || config.interactions < 1) {
      throw new Error('A synthetic dataset needs >= 1 user, >= 2 items and >= 1 interaction');
    }
    this.config = { latentDim: 8, startTime: 1_735_689_600, days: 120, ...config };
    const random = new SeededRandom(config.seed);
    const dim = this.config.latentDim;
    const centroids = CATEGORIES.map(() => randomVector(random, dim, 1));
    const categoryWeights = new AliasTable(CATEGORIES.map((_, index) => 1 / (index + 2)));

    const popularityWeights: number[] = [];
    for (let index = 0; index < config.items; index++) {
      const category = categoryWeights.sample(random);
      const categoryName = CATEGORIES[category] as (typeof CATEGORIES)[number];
      const vector = addScaled(
        Float64Array.from(centroids[category] as Float64Array),
        randomVector(random, dim, 0.45),
        1,
      );
      const price = round2(CATEGORY_MEAN_PRICE[categoryName] * Math.exp(0.45 * random.normal()));
      this.itemStates.push({ vector, category, price });
      this.items.push({
        itemId: `i${index + 1}`,
        category: categoryName,
        price,
        brand: `${categoryName}-brand-${1 + random.int(BRANDS_PER_CATEGORY)}`,
      });
      // Power-law popularity over a random order of items.
      popularityWeights.push(1 / (1 + random.int(config.items)) ** 0.9);
    }
    this.popularity = new AliasTable(popularityWeights);
    CATEGORIES.forEach((_, category) => {
      const members = this.itemStates.flatMap((item, index) => (item.category === category ? [index] : []));
      if (members.length > 0) {
        this.byCategory[category] = {
          items: members,
          sampler: new AliasTable(members.map((index) => popularityWeights[index] as number)),
        };
      }
    });

    const start = this.config.startTime;
    for (let index = 0; index < config.users; index++) {
      const favourite = categoryWeights.sample(random);
      const second = categoryWeights.sample(random);
      const vector = addScaled(
        addScaled(new Float64Array(dim), centroids[favourite] as Float64Array, 0.75),
        centroids[second] as Float64Array,
        0.35,
      );
      addScaled(vector, randomVector(random, dim, 0.35), 1);
      const loyalty = random.next() < 0.6 ? 0 : random.next() < 0.7 ? 1 : 2;
      this.userStates.push({
        vector,
        activity: Math.exp(0.9 * random.normal()) * (1 + 0.4 * loyalty),
        loyalty,
      });
      this.users.push({
        userId: `u${index + 1}`,
        age: 18 + random.int(58),
        region: random.pick(REGIONS),
        loyaltyTier: LOYALTY_TIERS[loyalty] as string,
        signupTimestamp: start - random.int(2 * 365 * 86_400),
      });
    }
  }

  /** Interactions, grouped by user and time-ordered within each user. */
  *interactions(): Generator<SyntheticInteraction> {
    const random = new SeededRandom(this.config.seed + 1);
    const totalActivity = this.userStates.reduce((sum, user) => sum + user.activity, 0);
    const rowsPerActivity = this.config.interactions / totalActivity;
    const windowSeconds = this.config.days * 86_400;
    for (let userIndex = 0; userIndex < this.userStates.length; userIndex++) {
      const user = this.userStates[userIndex] as UserState;
      const userId = (this.users[userIndex] as SyntheticUser).userId;
      // Row budget of this user; every emitted row (view, cart, purchase) spends one.
      let remaining = Math.max(1, Math.round(user.activity * rowsPerActivity * (0.8 + 0.4 * random.next())));
      const sessionCount = Math.max(1, Math.round(remaining / 3.5));
      const sessionStarts = Array.from(
        { length: sessionCount },
        () => this.config.startTime + random.int(windowSeconds),
      ).sort((a, b) => a - b);
      for (const sessionStart of sessionStarts) {
        if (remaining <= 0) break;
        const length = random.geometric(4);
        let time = sessionStart;
        let previous: number | undefined;
        for (let step = 0; step < length && remaining > 0; step++) {
          const itemIndex = this.nextItem(random, user, previous);
          const item = this.items[itemIndex] as SyntheticItem;
          const affinity = dot(user.vector, (this.itemStates[itemIndex] as ItemState).vector);
          yield { userId, itemId: item.itemId, timestamp: time, eventType: 'view' };
          remaining--;
          if (remaining > 0 && random.bernoulli(sigmoid(0.7 * affinity - 2.6))) {
            time += 15 + random.int(90);
            yield {
              userId,
              itemId: item.itemId,
              timestamp: time,
              eventType: 'add_to_cart',
              eventValue: item.price,
            };
            remaining--;
            if (remaining > 0 && random.bernoulli(sigmoid(0.5 * affinity - 0.8 + 0.3 * user.loyalty))) {
              time += 30 + random.int(240);
              yield {
                userId,
                itemId: item.itemId,
                timestamp: time,
                eventType: 'purchase',
                eventValue: item.price,
              };
              remaining--;
            }
          }
          time += 20 + random.int(280);
          previous = itemIndex;
        }
      }
    }
  }

  /** Campaign exposures; conversion depends on loyalty, activity and taste for the campaign's category. */
  *campaignExposures(): Generator<SyntheticCampaignExposure> {
    const random = new SeededRandom(this.config.seed + 2);
    const campaignCategory = CAMPAIGNS.map(() => random.int(CATEGORIES.length));
    const end = this.config.startTime + this.config.days * 86_400;
    for (let userIndex = 0; userIndex < this.userStates.length; userIndex++) {
      const user = this.userStates[userIndex] as UserState;
      const exposures = random.bernoulli(0.7) ? 1 + random.int(3) : 0;
      for (let n = 0; n < exposures; n++) {
        const campaign = random.int(CAMPAIGNS.length);
        const category = this.byCategory[campaignCategory[campaign] as number];
        const taste = category
          ? dot(user.vector, (this.itemStates[category.items[0] as number] as ItemState).vector)
          : 0;
        const logit = -2.6 + 0.7 * Math.log(user.activity + 0.1) + 0.6 * user.loyalty + 0.5 * taste;
        const converted = random.bernoulli(sigmoid(logit)) ? 1 : 0;
        const priceLevel = category
          ? (this.itemStates[category.items[0] as number] as ItemState).price
          : 20 + random.int(100);
        yield {
          campaignId: CAMPAIGNS[campaign] as string,
          userId: (this.users[userIndex] as SyntheticUser).userId,
          timestamp: end - random.int(30 * 86_400),
          channel: random.pick(CHANNELS),
          converted,
          revenue: converted ? round2(priceLevel * (0.6 + random.next())) : 0,
        };
      }
    }
  }

  /** Softmax choice among popular candidates and neighbours of the previous item's category. */
  private nextItem(random: SeededRandom, user: UserState, previous: number | undefined): number {
    const candidates: number[] = [];
    for (let n = 0; n < 24; n++) candidates.push(this.popularity.sample(random));
    const anchorCategory =
      previous !== undefined ? (this.itemStates[previous] as ItemState).category : undefined;
    const neighbours = anchorCategory !== undefined ? this.byCategory[anchorCategory] : undefined;
    if (neighbours) {
      for (let n = 0; n < 12; n++)
        candidates.push(neighbours.items[neighbours.sampler.sample(random)] as number);
    }
    const previousVector =
      previous !== undefined ? (this.itemStates[previous] as ItemState).vector : undefined;
    let total = 0;
    const weights = candidates.map((candidate) => {
      if (candidate === previous) return 0;
      const vector = (this.itemStates[candidate] as ItemState).vector;
      const recency = previousVector ? 0.9 * dot(previousVector, vector) : 0;
      const weight = Math.exp(1.1 * dot(user.vector, vector) + recency);
      total += weight;
      return weight;
    });
    let threshold = random.next() * total;
    for (let index = 0; index < candidates.length; index++) {
      threshold -= weights[index] as number;
      if (threshold <= 0 && (weights[index] as number) > 0) return candidates[index] as number;
    }
    return candidates.find((candidate) => candidate !== previous) ?? 0;
  }
}

function randomVector(random: SeededRandom, dim: number, scale: number): Float64Array {
  const vector = new Float64Array(dim);
  for (let i = 0; i < dim; i++) vector[i] = scale * random.normal();
  return vector;
}

function addScaled(target: Float64Array, source: Float64Array, scale: number): Float64Array {
  for (let i = 0; i < target.length; i++) target[i] = (target[i] as number) + scale * (source[i] as number);
  return target;
}

function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] as number) * (b[i] as number);
  return sum / Math.sqrt(a.length);
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
