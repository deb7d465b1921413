import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import * as tf from '@tensorflow/tfjs';
import { readJsonIfExists } from '../aws/s3-objects';
import {
  ARTIFACT_FILES,
  artifactKey,
  completeMarkerKey,
  MANIFEST_KEY,
  type ModelManifest,
  newModelVersion,
  propensityModelKey,
  upliftModelKey,
} from '../contracts/artifacts';
import { attributeValues } from '../data/list-values';
import type { EvaluationResult } from '../ml/evaluate';
import { runExperiment } from '../ml/experiment';
import type { InteractionLog, Split } from '../ml/interactions';
import type { TrainingConfig, TrainingProgress } from '../ml/train-two-tower';
import type { Logger } from '../observability/logger';
import { DATA_LAKE_PREFIXES } from '../resources/definitions';
import { s3ModelSource } from '../serving/model-store';
import { removeAbandonedVersion } from './abandoned-version';
import { loadCuratedData } from './curated-data';
import { forgottenUserIds, purgeForgottenUsers } from './purge-forgotten';
import { itemCategoryIndices } from './item-catalogue';
import { putJson, writeModelArtifacts } from './model-artifacts';
import { rescoreProduction } from './production-rescore';
import { featuresAsOf, scorePropensity } from './propensity-job';
import { type ExperimentUplift, fitExperimentUplift } from './uplift-job';
import { priceElasticityFromPurchases } from './pricing-job';
import { experimentAssignments, registeredExperiments } from '../marketing/experiment-store';
import { DEFAULT_GATE, type GateConfig, type GateDecision, qualityGate } from './quality-gate';
import { acquireRunLock } from './run-lock';
import { type SeenEventTypes, seenItemSets } from './seen-items';
import { segmentExportCsv, segmentUsers, userFacts } from './segment-users';
import { computeUserVectors, writeUserVectors } from './user-vectors';

export interface TrainingDeps {
  readonly s3: S3Client;
  readonly dynamoDb: DynamoDBClient;
  readonly bucket: string;
  readonly userVectorsTable: string;
  /** The ledger table, where the run lock lives. */
  readonly ledgerTable: string;
  /** The experiments table: each running experiment gets an uplift model. Without it, none is fitted. */
  readonly experimentsTable?: string;
  readonly log: Logger;
  readonly progress?: TrainingProgress;
  readonly now?: () => Date;
}

export interface TrainingOptions {
  readonly config?: Partial<TrainingConfig>;
  readonly gate?: GateConfig;
  /** Days precomputed user vectors live in DynamoDB (TTL). @default 30 */
  readonly userVectorTtlDays?: number;
  /** Number of customer segments; chosen by silhouette in 3..8 when absent. */
  readonly segments?: number;
  /** Event types whose items serving excludes as seen (the stage's `excludeSeenEventTypes`). @default 'all' */
  readonly excludeSeenEventTypes?: SeenEventTypes;
  /** A run stops (and fails, leaving serving as it was) after this many seconds. @default 14400 */
  readonly maxRunSeconds?: number;
}

/** Thrown at the next step boundary once a run has used its maximum duration. */
export class TrainingDeadlineExceeded extends Error {
  constructor(maxRunSeconds: number, step: string) {
    super(`training run exceeded its maximum duration of ${maxRunSeconds} s (at: ${step}); stopped`);
    this.name = 'TrainingDeadlineExceeded';
  }
}

export interface TrainingRunReport {
  readonly version: string;
  readonly promoted: boolean;
  readonly reasons: string[];
  readonly metrics: Record<string, EvaluationResult>;
  readonly training: {
    users: number;
    items: number;
    interactions: number;
    epochs: number;
    bestEpoch: number;
    seconds: number;
    examplesPerSecond: number;
    backend: string;
  };
  readonly report: string;
  readonly segments: { k: number; sizes: number[]; descriptions: string[] };
  /** Up to 1,000 user ids, most active first (examples for demos and smoke tests). */
  readonly activeUsers: string[];
}

function readManifest(s3: S3Client, bucket: string): Promise<ModelManifest | undefined> {
  return readJsonIfExists<ModelManifest>(s3, bucket, MANIFEST_KEY);
}

/**
 * One scheduled (or on-demand) training run: read curated data, train and
 * evaluate the model and baselines, write versioned artifacts and user vectors,
 * then — only if the quality gate passes — point `models/manifest.json` at the
 * new version. The manifest is written last: a run that fails anywhere before
 * it leaves serving untouched.
 */
export async function runTraining(
  deps: TrainingDeps,
  options: TrainingOptions = {},
  backend = tf.getBackend(),
): Promise<TrainingRunReport> {
  const now = deps.now?.() ?? new Date();
  const version = newModelVersion(now);
  const maxRunSeconds = options.maxRunSeconds ?? 14_400;
  // Held a little longer than a run may last, so a crashed run's lock frees itself.
  const lock = await acquireRunLock(deps.dynamoDb, deps.ledgerTable, version, {
    now,
    holdSeconds: maxRunSeconds + 600,
  });
  const deadline = performance.now() + maxRunSeconds * 1000;
  const checkDeadline = (step: string) => {
    if (performance.now() > deadline) throw new TrainingDeadlineExceeded(maxRunSeconds, step);
  };
  try {
    return await trainAndPublish(deps, options, backend, { now, version, checkDeadline });
  } catch (error) {
    // Nothing may list half a version: remove what this run wrote under models/<version>/.
    const removed = await removeAbandonedVersion(deps.s3, deps.bucket, version).catch(
      (cleanupError: unknown) => {
        deps.log.error("could not remove the failed run's artifacts", { version, error: cleanupError });
        return 0;
      },
    );
    if (removed > 0) deps.log.warn("removed the failed run's artifacts", { version, objects: removed });
    throw error;
  } finally {
    await lock.release();
  }
}

interface RunContext {
  readonly now: Date;
  readonly version: string;
  readonly checkDeadline: (step: string) => void;
}

async function trainAndPublish(
  deps: TrainingDeps,
  options: TrainingOptions,
  backend: string,
  { now, version, checkDeadline }: RunContext,
): Promise<TrainingRunReport> {
  const log = deps.log.child({ modelVersion: version });
  // The deletion job runs first: curated data loses forgotten users' rows before anything reads it.
  const ledger = { client: deps.dynamoDb, table: deps.ledgerTable };
  const purged = await purgeForgottenUsers(deps.s3, deps.bucket, ledger, now);
  if (purged.users > 0) log.info('curated data rewritten without forgotten users', { ...purged });
  const data = await loadCuratedData(deps.s3, deps.bucket, await forgottenUserIds(ledger));
  checkDeadline('data loaded');
  if (data.interactions === 0)
    throw new Error('no curated interactions yet: drop files into incoming/interactions/ first');
  log.info('training data loaded', {
    users: data.log.userIds.length,
    items: data.log.itemIds.length,
    interactions: data.interactions,
  });

  const categories = itemCategoryIndices(data.log.itemIds, data.itemAttributes);
  const categoryVocabulary = categories.vocabulary;
  const hasCategories = categoryVocabulary.length > 0;
  const experiment = await runExperiment(data.log, {
    ...(options.config ? { config: options.config } : {}),
    ...(hasCategories
      ? {
          itemCategories: categories.indices,
          numCategories: categoryVocabulary.length,
          categorySlots: categories.slots,
        }
      : {}),
    itemPrices: data.log.itemIds.map((itemId) => {
      const price = data.itemAttributes.get(itemId)?.price;
      return typeof price === 'number' ? price : null;
    }),
    progress: {
      onBatch: deps.progress?.onBatch,
      onEpoch: (stats) => {
        checkDeadline(`epoch ${stats.epoch}`);
        log.info('epoch finished', {
          epoch: stats.epoch,
          loss: stats.loss,
          validationNdcg10: stats.validation.ndcg10,
          examplesPerSecond: stats.examplesPerSecond,
        });
        deps.progress?.onEpoch?.(stats);
      },
    },
  });
  const { model } = experiment.trained;
  try {
    const metrics = experiment.metrics;
    const modelNdcg = metrics.model?.full.ndcg10 ?? 0;
    checkDeadline('evaluation');
    const current = await readManifest(deps.s3, deps.bucket);
    // Baselines in production are no model to compare with: the gate then asks only for the lift over popularity.
    const production =
      current && current.serving !== 'baselines'
        ? await productionOnThisSplit(deps, current, data.log, experiment.split, log)
        : undefined;
    const decision: GateDecision = qualityGate(
      modelNdcg,
      metrics.popularity?.full.ndcg10 ?? 0,
      production?.ndcg10,
      options.gate ?? DEFAULT_GATE,
    );
    if (production) decision.reasons.push(production.basis);
    // Until a model passes the gate, the API serves this run's baselines rather than answering 503.
    const servesBaselines = !decision.promote && (!current || current.serving === 'baselines');
    if (servesBaselines) {
      decision.reasons.push(
        "no model has passed the gate yet: the API serves this run's popularity and item-kNN baselines (strategy 'fallback') until one does",
      );
    }

    // Artifacts first (all under models/<version>/) ...
    const numItems = data.log.itemIds.length;
    const d = model.shape.embeddingDim;
    await writeModelArtifacts(deps, version, {
      model,
      data,
      categoryVocabulary,
      itemCategories: categories,
      baselines: experiment.baselines,
    });
    const training = {
      users: data.log.userIds.length,
      items: numItems,
      interactions: data.interactions,
      epochs: experiment.trained.history.length,
      bestEpoch: experiment.trained.bestEpoch,
      seconds: Number(experiment.trainingSeconds.toFixed(1)),
      examplesPerSecond: Math.round(experiment.trained.examplesPerSecond),
      backend,
    };
    await putJson(deps.s3, deps.bucket, artifactKey(version, 'metrics'), {
      version,
      metrics,
      training,
      gate: decision,
    });
    await putJson(deps.s3, deps.bucket, artifactKey(version, 'trainingCurves'), experiment.trained.history);
    const userVectors = computeUserVectors(model, data.log);
    const segmentation = segmentUsers(
      userVectors,
      d,
      userFacts(data.log, data.rows, (itemId) => {
        return attributeValues(data.itemAttributes.get(itemId)?.category);
      }),
      options.config?.seed ?? 42,
      options.segments,
    );
    await putJson(deps.s3, deps.bucket, artifactKey(version, 'segments'), segmentation.artifact);
    for (const profile of segmentation.artifact.profiles) {
      await deps.s3.send(
        new PutObjectCommand({
          Bucket: deps.bucket,
          Key: `${DATA_LAKE_PREFIXES.exports}segments/${version}/${profile.name}.csv`,
          Body: segmentExportCsv(segmentation, profile.segment),
          ContentType: 'text/csv',
        }),
      );
    }
    log.info('users segmented', {
      k: segmentation.artifact.k,
      silhouettes: segmentation.artifact.silhouettes,
    });
    const propensity = await scorePropensity(data.log.userIds, data.rows, options.config?.seed ?? 42);
    await putJson(deps.s3, deps.bucket, artifactKey(version, 'propensity'), propensity.summary);
    for (const [target, model] of Object.entries(propensity.models)) {
      await putJson(deps.s3, deps.bucket, propensityModelKey(version, target), model);
    }
    log.info('propensity scored', { targets: propensity.summary });
    const segmentNames = new Map(
      data.log.userIds.map((userId, user) => [
        userId,
        segmentation.artifact.profiles.find((profile) => profile.segment === segmentation.assignments[user])
          ?.name,
      ]),
    );
    const pricing = priceElasticityFromPurchases(data.rows, data.itemAttributes, (userId) =>
      segmentNames.get(userId),
    );
    await putJson(deps.s3, deps.bucket, artifactKey(version, 'pricing'), pricing);
    log.info(
      'price elasticity',
      pricing.trained ? { groups: pricing.groups.length } : { reason: pricing.reason },
    );
    const uplift = await upliftForRunningExperiments(deps, data.log.userIds, data.rows);
    if (uplift.length > 0) {
      await putJson(
        deps.s3,
        deps.bucket,
        artifactKey(version, 'uplift'),
        uplift.map((entry) => entry.summary),
      );
      for (const entry of uplift) {
        if (entry.model)
          await putJson(
            deps.s3,
            deps.bucket,
            upliftModelKey(version, entry.summary.experimentId),
            entry.model,
          );
      }
      log.info('uplift fitted', { experiments: uplift.map((entry) => entry.summary) });
    }
    await writeUserVectors(
      deps,
      userVectors,
      d,
      segmentation.assignments,
      propensity,
      data.log,
      seenItemSets(data.log, data.rows, options.excludeSeenEventTypes ?? 'all'),
      version,
      now,
      options.userVectorTtlDays ?? 30,
      new Map(uplift.flatMap((entry) => (entry.scores ? [[entry.summary.experimentId, entry.scores]] : []))),
    );

    const reportKey = `${DATA_LAKE_PREFIXES.reports}training/${version}.json`;
    const report: TrainingRunReport = {
      version,
      promoted: decision.promote,
      reasons: decision.reasons,
      metrics,
      training,
      report: reportKey,
      activeUsers: data.log.userIds
        .map((userId, user) => ({ userId, events: (data.log.sequences[user] as Int32Array).length }))
        .sort((a, b) => b.events - a.events || a.userId.localeCompare(b.userId))
        .slice(0, 1_000)
        .map((entry) => entry.userId),
      segments: {
        k: segmentation.artifact.k,
        sizes: segmentation.artifact.profiles.map((profile) => profile.size),
        descriptions: segmentation.artifact.profiles.map(
          (profile) => `${profile.name}: ${profile.description}`,
        ),
      },
    };
    await putJson(deps.s3, deps.bucket, reportKey, report);
    checkDeadline('artifacts written');
    await putJson(deps.s3, deps.bucket, completeMarkerKey(version), {
      version,
      completedAt: new Date().toISOString(),
    });

    // ... and the manifest last, only for a model that passed the gate (or, before any did, for its baselines).
    if (decision.promote || servesBaselines) {
      const manifest: ModelManifest = {
        version,
        trainedAt: now.toISOString(),
        embeddingDim: d,
        sequenceLength: model.shape.sequenceLength,
        numItems,
        numUsers: data.log.userIds.length,
        metrics: {
          ndcg10: modelNdcg,
          hr10: metrics.model?.full.hr10 ?? 0,
          popularityNdcg10: metrics.popularity?.full.ndcg10 ?? 0,
          sampledHr10: metrics.model?.sampled100?.hr10 ?? 0,
        },
        artifacts: Object.fromEntries(
          (Object.keys(ARTIFACT_FILES) as (keyof typeof ARTIFACT_FILES)[]).map((file) => [
            file,
            artifactKey(version, file),
          ]),
        ) as ModelManifest['artifacts'],
        ...(decision.promote ? {} : { serving: 'baselines' as const }),
        ...(data.eventPolicy ? { eventPolicy: data.eventPolicy } : {}),
      };
      await putJson(deps.s3, deps.bucket, MANIFEST_KEY, manifest);
      // The 'model promoted' line feeds the promotions metric and its alarm; baselines are not a promotion.
      if (decision.promote) log.info('model promoted', { reasons: decision.reasons });
      else log.warn('baselines served until a model passes the gate', { reasons: decision.reasons });
    } else {
      log.warn('model not promoted; serving keeps the current model', { reasons: decision.reasons });
    }
    return report;
  } finally {
    model.dispose();
  }
}

/**
 * The production model's NDCG@10 on this run's split (see production-rescore.ts).
 * If its artifacts cannot be read, the gate falls back to the NDCG stored with
 * it, and says so.
 */
async function productionOnThisSplit(
  deps: TrainingDeps,
  manifest: ModelManifest,
  log: InteractionLog,
  split: Split,
  runLog: Logger,
): Promise<{ ndcg10: number; basis: string }> {
  try {
    const served = await s3ModelSource(deps.s3, deps.bucket).load(manifest);
    const metrics = rescoreProduction(served, log, split);
    return {
      ndcg10: metrics.ndcg10,
      basis: `production ${manifest.version} re-scored on this run's test split: NDCG@10 ${metrics.ndcg10.toFixed(4)} (${manifest.metrics.ndcg10.toFixed(4)} on its own split)`,
    };
  } catch (error) {
    runLog.warn('could not re-score the production model; comparing with its stored NDCG', { error });
    return {
      ndcg10: manifest.metrics.ndcg10,
      basis: `production ${manifest.version} could not be re-scored (${error instanceof Error ? error.message : String(error)}); compared with its stored NDCG@10`,
    };
  }
}

/** Every user's vector from their full history, row-major users × d. */

/** An uplift model per running experiment, from its exposed users' variants and conversions. */
async function upliftForRunningExperiments(
  deps: TrainingDeps,
  userIds: readonly string[],
  rows: Parameters<typeof fitExperimentUplift>[1],
): Promise<ExperimentUplift[]> {
  if (!deps.experimentsTable) return [];
  const table = { client: deps.dynamoDb, table: deps.experimentsTable };
  const running = await registeredExperiments(table);
  if (running.length === 0) return [];
  const end = rows.reduce((latest, row) => Math.max(latest, row.timestamp), Number.NEGATIVE_INFINITY);
  const current = featuresAsOf(userIds, rows, end + 1).table;
  const fitted: ExperimentUplift[] = [];
  for (const { definition, createdAt } of running) {
    const assignments = await experimentAssignments(table, definition.experimentId);
    fitted.push(fitExperimentUplift(userIds, rows, { definition, createdAt, assignments }, current));
  }
  return fitted;
}
