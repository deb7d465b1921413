import { BatchWriteItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import * as tf from '@tensorflow/tfjs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { EvaluationResult } from '../ml/evaluate';
import { runExperiment } from '../ml/experiment';
import { buildInteractionLog, type InteractionLog, type Split } from '../ml/interactions';
import type { TrainingConfig, TrainingProgress } from '../ml/train-two-tower';
import { fillContext, type TwoTowerModel } from '../ml/two-tower';
import { topKIndices } from '../ml/top-k';
import type { Logger } from '../observability/logger';
import { listKeys, readJsonIfExists, readTextIfExists } from '../aws/s3-objects';
import type { EventPolicy } from '../data/event-policy';
import { attributeValues } from '../data/list-values';
import { parseMapping } from '../ingest/mapping';
import { DATA_LAKE_PREFIXES, EVENT_POLICY_KEY } from '../resources/definitions';
import {
  ARTIFACT_FILES,
  artifactKey,
  MANIFEST_KEY,
  type ModelManifest,
  completeMarkerKey,
  newModelVersion,
  propensityModelKey,
} from '../contracts/artifacts';
import { removeAbandonedVersion } from './abandoned-version';
import { rescoreProduction } from './production-rescore';
import { acquireRunLock } from './run-lock';
import { type SeenEventTypes, seenItemSets } from './seen-items';
import type { ServedAttribute } from '../contracts/artifacts';
import { s3ModelSource } from '../serving/model-store';
import { DEFAULT_GATE, type GateConfig, type GateDecision, qualityGate } from './quality-gate';
import { PROPENSITY_TARGETS } from '../contracts/artifacts';
import { type PropensityScores, scorePropensity } from './propensity-job';
import { type FactRow, segmentExportCsv, segmentUsers, userFacts } from './segment-users';

export interface TrainingDeps {
  readonly s3: S3Client;
  readonly dynamoDb: DynamoDBClient;
  readonly bucket: string;
  readonly userVectorsTable: string;
  /** The ledger table, where the run lock lives. */
  readonly ledgerTable: string;
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

interface CuratedData {
  readonly log: InteractionLog;
  /** The interactions mapping's `events` policy (absent: every event a positive of weight 1). */
  readonly eventPolicy?: EventPolicy;
  readonly rows: FactRow[];
  readonly interactions: number;
  readonly itemAttributes: Map<string, Record<string, unknown>>;
}

async function* curatedLines(
  s3: S3Client,
  bucket: string,
  prefix: string,
): AsyncGenerator<Record<string, unknown>> {
  for (const key of (await listKeys(s3, bucket, prefix))
    .filter((name) => name.endsWith('.jsonl.gz'))
    .sort()) {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const lines = createInterface({
      input: (object.Body as Readable).pipe(createGunzip()),
      crlfDelay: Number.POSITIVE_INFINITY,
    });
    for await (const line of lines) if (line) yield JSON.parse(line) as Record<string, unknown>;
  }
}

/** Reads the curated interactions and item attributes published by ingestion. */
export async function loadCuratedData(s3: S3Client, bucket: string): Promise<CuratedData> {
  const rows: FactRow[] = [];
  for await (const row of curatedLines(s3, bucket, `${DATA_LAKE_PREFIXES.curated}interactions/`)) {
    rows.push({
      user_id: String(row.user_id),
      item_id: String(row.item_id),
      timestamp: Number(row.timestamp),
      event_type: typeof row.event_type === 'string' ? row.event_type : 'interaction',
      event_value: typeof row.event_value === 'number' ? row.event_value : null,
    });
  }
  const itemAttributes = new Map<string, Record<string, unknown>>();
  for await (const row of curatedLines(s3, bucket, `${DATA_LAKE_PREFIXES.curated}items/`)) {
    itemAttributes.set(String(row.item_id), row);
  }
  const eventPolicy = await loadEventPolicy(s3, bucket);
  return {
    log: buildInteractionLog(rows, eventPolicy),
    rows,
    interactions: rows.length,
    itemAttributes,
    ...(eventPolicy ? { eventPolicy } : {}),
  };
}

/** The `events` policy of `incoming/interactions/_mapping.json`, if the mapping declares one. */
export async function loadEventPolicy(s3: S3Client, bucket: string): Promise<EventPolicy | undefined> {
  const text = await readTextIfExists(s3, bucket, EVENT_POLICY_KEY);
  if (text === undefined) return undefined;
  try {
    return parseMapping(text).events;
  } catch (error) {
    // Ingestion quarantines files under a broken mapping; training must not guess what events mean either.
    throw new Error(`${EVENT_POLICY_KEY}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function putJson(s3: S3Client, bucket: string, key: string, value: unknown): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: JSON.stringify(value),
      ContentType: 'application/json',
    }),
  );
}

function readManifest(s3: S3Client, bucket: string): Promise<ModelManifest | undefined> {
  return readJsonIfExists<ModelManifest>(s3, bucket, MANIFEST_KEY);
}

/** An item's curated attributes as responses show them: scalars and lists of text, its id left out. */
function servedAttributes(row: Record<string, unknown>): Record<string, ServedAttribute> {
  return Object.fromEntries(
    Object.entries(row).filter(
      ([key, value]) =>
        key !== 'item_id' &&
        (value === null ||
          ['string', 'number', 'boolean'].includes(typeof value) ||
          (Array.isArray(value) && value.every((entry) => typeof entry === 'string'))),
    ),
  ) as Record<string, ServedAttribute>;
}

/** The category as filters read it: one value, the values of a list attribute, or null. */
function categoryAttribute(value: unknown): string | string[] | null {
  if (Array.isArray(value)) return attributeValues(value);
  return value === undefined || value === null ? null : String(value);
}

/** Most category values one item contributes to the item tower (a list attribute beyond this is cut). */
const MAX_CATEGORY_SLOTS = 16;

/**
 * Items' categories as the item tower reads them: a vocabulary, and per item `slots` 1-based indices (0 =
 * padding) — one for a plain `category`, each value for a list attribute (genres "Comedy|Drama").
 */
export function itemCategoryIndices(
  itemIds: readonly string[],
  itemAttributes: ReadonlyMap<string, Record<string, unknown>>,
): { vocabulary: string[]; indices: Int32Array; slots: number } {
  const vocabulary: string[] = [];
  const index = new Map<string, number>();
  const perItem = itemIds.map((itemId) =>
    attributeValues(itemAttributes.get(itemId)?.category)
      .slice(0, MAX_CATEGORY_SLOTS)
      .map((name) => {
        let position = index.get(name);
        if (position === undefined) {
          vocabulary.push(name);
          position = vocabulary.length;
          index.set(name, position);
        }
        return position;
      }),
  );
  const slots = perItem.reduce((most, values) => Math.max(most, values.length), 1);
  const indices = new Int32Array(itemIds.length * slots);
  perItem.forEach((values, item) => indices.set(values, item * slots));
  return { vocabulary, indices, slots };
}

/** Popularity then trending, each as a share of its total (an item's part of all positive signal). */
export function baselineShares(popularity: Float32Array, trending: Float32Array): Float32Array {
  const out = new Float32Array(popularity.length * 2);
  [popularity, trending].forEach((scores, block) => {
    let total = 0;
    for (const score of scores) if (score > 0) total += score;
    for (let item = 0; item < scores.length; item++)
      out[block * scores.length + item] = total > 0 ? (scores[item] as number) / total : 0;
  });
  return out;
}

function topList(scores: Float32Array, k: number): [number, number][] {
  return Array.from(topKIndices(scores, k), (item) => [item, Number((scores[item] as number).toFixed(6))]);
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
  const data = await loadCuratedData(deps.s3, deps.bucket);
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
    const { specs, data: weights } = await model.serialize();
    const d = model.shape.embeddingDim;
    const numItems = data.log.itemIds.length;
    const itemMatrix = tf.tidy(() => tf.concat([model.itemVectors(), model.itemBiases().expandDims(1)], 1));
    const itemVectors = new Float32Array(itemMatrix.dataSync());
    itemMatrix.dispose();
    await putJson(deps.s3, deps.bucket, artifactKey(version, 'model'), {
      format: 'mappa-two-tower/1',
      shape: {
        numUsers: data.log.userIds.length,
        numItems,
        embeddingDim: d,
        sequenceLength: model.shape.sequenceLength,
        numCategories: categoryVocabulary.length,
        userFeatureDim: model.shape.userFeatures ? (model.shape.userFeatureDim ?? 0) : 0,
      },
      weightsManifest: [{ paths: [ARTIFACT_FILES.weights], weights: specs }],
    });
    await deps.s3.send(
      new PutObjectCommand({
        Bucket: deps.bucket,
        Key: artifactKey(version, 'weights'),
        Body: new Uint8Array(weights),
      }),
    );
    await deps.s3.send(
      new PutObjectCommand({
        Bucket: deps.bucket,
        Key: artifactKey(version, 'itemVectors'),
        Body: new Uint8Array(itemVectors.buffer),
      }),
    );
    const userFeatures = model.shape.userFeatures ?? new Float32Array(0);
    await deps.s3.send(
      new PutObjectCommand({
        Bucket: deps.bucket,
        Key: artifactKey(version, 'userFeatures'),
        Body: new Uint8Array(userFeatures.buffer, userFeatures.byteOffset, userFeatures.byteLength),
      }),
    );
    await putJson(deps.s3, deps.bucket, artifactKey(version, 'itemIds'), data.log.itemIds);
    await putJson(deps.s3, deps.bucket, artifactKey(version, 'userIds'), data.log.userIds);
    await putJson(deps.s3, deps.bucket, artifactKey(version, 'itemAttributes'), {
      categories: categoryVocabulary,
      items: data.log.itemIds.map((itemId) => {
        const attributes = data.itemAttributes.get(itemId) ?? {};
        return {
          category: categoryAttribute(attributes.category),
          price: typeof attributes.price === 'number' ? attributes.price : null,
          attributes: servedAttributes(attributes),
        };
      }),
    });
    const knn = experiment.baselines.itemKnn;
    await putJson(deps.s3, deps.bucket, artifactKey(version, 'baselines'), {
      popularity: topList(experiment.baselines.popularity, 1000),
      trending: topList(experiment.baselines.trending, 1000),
      itemKnn: knn.neighbours.map((neighbours, item) =>
        Array.from(neighbours.subarray(0, 50), (other, index) => [
          other,
          Number((knn.similarities[item]?.[index] ?? 0).toFixed(5)),
        ]),
      ),
    });
    const baselineScores = baselineShares(experiment.baselines.popularity, experiment.baselines.trending);
    await deps.s3.send(
      new PutObjectCommand({
        Bucket: deps.bucket,
        Key: artifactKey(version, 'baselineScores'),
        Body: new Uint8Array(baselineScores.buffer),
      }),
    );
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
function computeUserVectors(model: TwoTowerModel, log: InteractionLog): Float32Array {
  const n = model.shape.sequenceLength;
  const d = model.shape.embeddingDim;
  const out = new Float32Array(log.userIds.length * d);
  const batchUsers = 512;
  for (let start = 0; start < log.userIds.length; start += batchUsers) {
    const end = Math.min(log.userIds.length, start + batchUsers);
    const context = new Int32Array((end - start) * n);
    for (let user = start; user < end; user++) {
      const history = log.sequences[user] as Int32Array;
      fillContext(history, history.length, n, context, (user - start) * n);
    }
    const vectors = tf.tidy(() =>
      model.userVectors(
        tf.tensor2d(context, [end - start, n], 'int32'),
        tf.range(start + 1, end + 1, 1, 'int32') as tf.Tensor1D,
      ),
    );
    out.set(vectors.dataSync() as Float32Array, start * d);
    vectors.dispose();
  }
  return out;
}

/** Writes each user's vector (with a trailing 1 for the item bias), seen-set and segment to DynamoDB, keyed by model version. */
async function writeUserVectors(
  deps: TrainingDeps,
  vectors: Float32Array,
  d: number,
  segments: Int32Array,
  propensity: PropensityScores,
  log: InteractionLog,
  seen: (user: number) => Uint8Array,
  version: string,
  now: Date,
  ttlDays: number,
): Promise<void> {
  const expires = Math.floor(now.getTime() / 1000) + ttlDays * 86_400;
  const requests = log.userIds.map((userId, user) => {
    // Append 1 so a dot product with (item vector, bias) adds the bias.
    const vector = new Float32Array(d + 1);
    vector.set(vectors.subarray(user * d, (user + 1) * d));
    vector[d] = 1;
    return {
      PutRequest: {
        Item: {
          user_id: { S: userId },
          model_version: { S: version },
          vector: { B: new Uint8Array(vector.buffer) },
          seen: { B: seen(user) },
          segment: { N: String(segments[user] ?? 0) },
          ...Object.fromEntries(
            PROPENSITY_TARGETS.flatMap((target) => {
              const scored = propensity.scores[target];
              if (!scored) return [];
              return [
                [`propensity_${target}`, { N: (scored.probability[user] as number).toFixed(6) }],
                [`propensity_${target}_decile`, { N: String(scored.decile[user]) }],
              ];
            }),
          ),
          expires_at: { N: String(expires) },
        },
      },
    };
  });
  for (let offset = 0; offset < requests.length; offset += 25) {
    let pending = requests.slice(offset, offset + 25);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 8) throw new Error('BatchWriteItem kept leaving user vectors unprocessed');
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
      const response = await deps.dynamoDb.send(
        new BatchWriteItemCommand({ RequestItems: { [deps.userVectorsTable]: pending } }),
      );
      pending = (response.UnprocessedItems?.[deps.userVectorsTable] ?? []) as typeof pending;
    }
  }
}
