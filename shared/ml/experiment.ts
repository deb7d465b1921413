import { itemFeatureMatrix, userFeatureMatrix } from './tower-features';
import {
  itemCooccurrence,
  type ItemNeighbours,
  itemKnnScorer,
  popularityScores,
  staticScorer,
  trendingScores,
} from './baselines';
import { type EvaluationResult, evaluateFullRanking, evaluateSampled, type Scorer } from './evaluate';
import { type InteractionLog, leaveLastOut, type Split } from './interactions';
import {
  DEFAULT_TRAINING_CONFIG,
  type TrainedTwoTower,
  type TrainingConfig,
  type TrainingProgress,
  trainTwoTower,
  twoTowerScorer,
} from './train-two-tower';

/**
 * One training-and-evaluation run with the fixed protocol: leave-last-out
 * split, the two-tower model and every baseline evaluated on the same users
 * with full ranking and sampled-100 ranking.
 */
export interface ExperimentResult {
  readonly split: Split;
  readonly trained: TrainedTwoTower;
  readonly baselines: { popularity: Float32Array; trending: Float32Array; itemKnn: ItemNeighbours };
  /** Metrics per scorer: `model`, `popularity`, `trending`, `item_knn`. */
  readonly metrics: Record<string, EvaluationResult>;
  readonly trainingSeconds: number;
}

export interface ExperimentOptions {
  readonly config?: Partial<TrainingConfig>;
  /** Category indices per item (1-based, 0 = none), `categorySlots` per item; see TwoTowerShape. */
  readonly itemCategories?: Int32Array;
  readonly numCategories?: number;
  readonly categorySlots?: number;
  /** Price per item index (null where unknown), for the item tower's price feature. */
  readonly itemPrices?: readonly (number | null)[];
  readonly progress?: TrainingProgress;
  readonly sampledSeed?: number;
}

export function evaluateScorer(
  scorer: Scorer,
  split: Split,
  numItems: number,
  sampledSeed = 42,
): EvaluationResult {
  return {
    full: evaluateFullRanking(scorer, split, numItems, 'test'),
    sampled100: evaluateSampled(scorer, split, numItems, 99, sampledSeed),
  };
}

export async function runExperiment(
  log: InteractionLog,
  options: ExperimentOptions = {},
): Promise<ExperimentResult> {
  const split = leaveLastOut(log);
  const numItems = log.itemIds.length;
  const config = { ...DEFAULT_TRAINING_CONFIG, ...options.config };
  const validationTimes = Float64Array.from(log.timestamps, (times, user) =>
    (split.validation[user] as number) >= 0 ? (times[times.length - 2] as number) : 0,
  );
  const baselines = {
    popularity: popularityScores(split, numItems),
    trending: trendingScores(split, numItems, { train: split.trainTimestamps, validationTimes }),
    itemKnn: itemCooccurrence(split, numItems),
  };
  const started = performance.now();
  const itemFeatures = itemFeatureMatrix(split, numItems, options.itemPrices);
  const userFeatures = userFeatureMatrix(split);
  const trained = await trainTwoTower(
    split,
    {
      numUsers: log.userIds.length,
      numItems,
      itemFeatures: itemFeatures.features,
      itemFeatureDim: itemFeatures.dim,
      userFeatures: userFeatures.features,
      userFeatureDim: userFeatures.dim,
      ...(options.itemCategories && options.numCategories
        ? {
            itemCategories: options.itemCategories,
            numCategories: options.numCategories,
            categorySlots: options.categorySlots ?? 1,
          }
        : {}),
    },
    config,
    options.progress,
  );
  const trainingSeconds = (performance.now() - started) / 1000;
  const scorers: Scorer[] = [
    twoTowerScorer(trained.model, 'model'),
    staticScorer('popularity', baselines.popularity),
    staticScorer('trending', baselines.trending),
    itemKnnScorer(baselines.itemKnn),
  ];
  const metrics: Record<string, EvaluationResult> = {};
  for (const scorer of scorers)
    metrics[scorer.name] = evaluateScorer(scorer, split, numItems, options.sampledSeed);
  return { split, trained, baselines, metrics, trainingSeconds };
}
