import type { EventPolicy } from '../data/event-policy';
import { DATA_LAKE_PREFIXES } from '../resources/definitions';

/**
 * The model artifact layout under `models/<version>/`, shared by the training
 * job (writer) and serving (reader). `models/manifest.json` names the version
 * being served and is written last, so a reader never sees a partial model.
 */
export const MANIFEST_KEY = `${DATA_LAKE_PREFIXES.models}manifest.json`;

export const ARTIFACT_FILES = {
  /** TF.js weights manifest plus model shape and training config. */
  model: 'model.json',
  weights: 'weights.bin',
  /** Float32, numItems rows of (embeddingDim + 1): the item vector with its bias as the last value. */
  itemVectors: 'item-vectors.bin',
  /** Float32, (numUsers + 1) rows of the user tower's numeric features; row 0 = unknown user. */
  userFeatures: 'user-features.bin',
  /** JSON arrays of ids aligned with the vector rows / user indices. */
  itemIds: 'item-ids.json',
  userIds: 'user-ids.json',
  /** Item attributes serving filters on (category, price) and category vocabulary. */
  itemAttributes: 'item-attributes.json',
  /** Baselines kept as serving fallbacks: popularity and trending top lists. */
  baselines: 'baselines.json',
  /**
   * Item-kNN neighbours (similar items while a version serves baselines), binary so it grows with the catalogue
   * without a JSON parse: Int32 [items, k], then Int32 neighbour indices [items × k] (−1 = none), then Float32
   * similarities [items × k], little-endian (shared/data/item-neighbours.ts). Versions trained before it carry
   * `itemKnn` in baselines.json instead.
   */
  itemNeighbours: 'item-neighbours.bin',
  /**
   * Float32, 2 × numItems: each item's share of all weighted interactions (popularity), then of recency-weighted
   * ones (trending) — the scores cold-start and fallback lists answer with.
   */
  baselineScores: 'baseline-scores.bin',
  /**
   * Per-category centroids of the learned item vectors: serving gives items added after training a vector
   * from their categories (ItemContentArtifact).
   */
  itemContent: 'item-content.json',
  metrics: 'metrics.json',
  /** Customer segments: k, silhouettes, profiles with descriptions. */
  segments: 'segments.json',
  /** Propensity targets: definition, horizon, validation AUC (scores live in the user-vectors table). */
  propensity: 'propensity.json',
  /** Price elasticity and recommended prices from the purchases (shared/training/pricing-job.ts). */
  pricing: 'pricing.json',
  /** One summary per running experiment's uplift model (shared/training/uplift-job.ts). */
  uplift: 'uplift.json',
  trainingCurves: 'training-curves.json',
} as const;

/** A running experiment's uplift model file (see shared/marketing/uplift-eval.ts). */
export function upliftModelKey(version: string, experimentId: string): string {
  return `${DATA_LAKE_PREFIXES.models}${version}/uplift-models/${experimentId}.json`;
}

/** A propensity target's model file (see shared/marketing/propensity-model.ts). */
export function propensityModelKey(version: string, target: string): string {
  return `${DATA_LAKE_PREFIXES.models}${version}/propensity-models/${target}.json`;
}

export function artifactKey(version: string, file: keyof typeof ARTIFACT_FILES): string {
  return `${DATA_LAKE_PREFIXES.models}${version}/${ARTIFACT_FILES[file]}`;
}

/** Everything of one version lives under this prefix. */
export function versionPrefix(version: string): string {
  return `${DATA_LAKE_PREFIXES.models}${version}/`;
}

/**
 * Written after every artifact of a version (and before any manifest points
 * at it): a `models/<version>/` without it is an abandoned run, never a model.
 */
export function completeMarkerKey(version: string): string {
  return `${versionPrefix(version)}complete.json`;
}

/** `item-content.json`: what an item the model never saw is scored with until the next run. */
export interface ItemContentArtifact {
  readonly format: 'mappa-item-content/2';
  readonly embeddingDim: number;
  /** The category vocabulary: category `categories[i]` has centroid row i + 1. */
  readonly categories: readonly string[];
  /**
   * Row 0: the mean learned item vector (bias last) of all items; row i + 1: of the items of `categories[i]`.
   */
  readonly centroids: readonly (readonly number[])[];
}

/** What `models/manifest.json` holds. */
export interface ModelManifest {
  readonly version: string;
  readonly trainedAt: string;
  readonly embeddingDim: number;
  readonly sequenceLength: number;
  readonly numItems: number;
  readonly numUsers: number;
  /** Summary of test metrics (full ranking) for `GET /v1/model`. */
  readonly metrics: { ndcg10: number; hr10: number; popularityNdcg10: number; sampledHr10: number };
  readonly artifacts: Record<keyof typeof ARTIFACT_FILES, string>;
  /**
   * `baselines`: no model has passed the quality gate yet, so serving answers with this version's baselines
   * (popularity, item-kNN; strategy `fallback`) instead of 503. Absent: the model.
   */
  readonly serving?: 'model' | 'baselines';
  /**
   * The event policy this version learned with (the interactions mapping's `events`): serving reads `recent`
   * history with it, so a disliked or ignored item is neither context nor a reason.
   */
  readonly eventPolicy?: EventPolicy;
}

/** A sortable, unique model version: UTC time plus a short random suffix. */
export function newModelVersion(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `v${stamp}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Customer segments of a version (`segments.json`): what training writes and serving and the report read. */
export interface SegmentProfile {
  readonly segment: number;
  readonly name: string;
  readonly description: string;
  readonly size: number;
  readonly share: number;
  readonly rfm: {
    readonly recencyDays: { mean: number; median: number };
    readonly frequency: { mean: number; median: number };
    readonly monetary: { mean: number; median: number };
  };
  /** Most frequent categories: share of the segment's category counts, and lift over all users' share. */
  readonly topCategories: { category: string; share: number; lift: number }[];
  readonly topItems: { itemId: string; count: number }[];
  /** Share of each event type among the segment's interactions. */
  readonly behaviour: Record<string, number>;
}

export interface SegmentsArtifact {
  readonly k: number;
  readonly silhouettes: Record<string, number>;
  /** How the clustered points are built, for readers of the artifact. */
  readonly features: string;
  readonly profiles: SegmentProfile[];
  /** A 2-D PCA projection of (up to 2,000) clustered users for the report's segment map: [x, y, segment]. */
  readonly projection: [number, number, number][];
}

/** Propensity targets of a version (`propensity.json`); the scores live per user in DynamoDB. */
export const PROPENSITY_TARGETS = ['purchase', 'churn'] as const;

export type PropensityTarget = (typeof PROPENSITY_TARGETS)[number];

export interface TargetSummary {
  readonly trained: boolean;
  /** Why a target could not be trained (e.g. one class only). */
  readonly reason?: string;
  readonly horizonDays: number;
  /** What the label means for this data (purchases, or any activity when there are no purchases). */
  readonly definition: string;
  readonly users: number;
  readonly positiveRate: number;
  readonly validationAuc?: number;
  /** ROC and reliability curves on the validation users (for the report). */
  readonly curves?: {
    roc: { fpr: number; tpr: number }[];
    calibration: { predicted: number; observed: number; count: number }[];
  };
}

/** A served attribute value: a scalar, or the values of a list attribute (genres). */
export type ServedAttribute = string | number | boolean | null | readonly string[];

/** One running experiment's uplift model in a version (`uplift.json` holds one per experiment). */
export interface ExperimentUpliftSummary {
  readonly experimentId: string;
  readonly trained: boolean;
  /** Why there is no model (too few users or converters in an arm). */
  readonly reason?: string;
  readonly control: string;
  readonly users: number;
  readonly estimator?: string;
  /** Held-out Qini coefficient and AUUC of the chosen estimator, and the propensity baseline's Qini. */
  readonly qini?: number;
  readonly auuc?: number;
  readonly propensityQini?: number;
  /** Observed treated − control conversion rate over the experiment's users, with its 95% CI. */
  readonly ate?: {
    readonly difference: number;
    readonly ci95: readonly [number, number];
    readonly pValue: number;
  };
}
