import { decodeNeighbourTable, type ItemNeighbourTable, neighbourTable } from '../data/item-neighbours';
import { GetObjectCommand, NoSuchKey, type S3Client } from '@aws-sdk/client-s3';
import { readJsonIfExists } from '../aws/s3-objects';
import { float32FromBytes } from '../data/binary';
import { artifactKey, MANIFEST_KEY, type ModelManifest } from '../contracts/artifacts';
import { type ItemAttributes, ItemIndex } from './item-index';
import type { ExperimentUpliftSummary, PropensityTarget, TargetSummary } from '../contracts/artifacts';
import type { SegmentsArtifact } from '../contracts/artifacts';
import { decodeWeights, UserTower, type WeightSpec } from './user-tower';
import { appendItems, ItemContentModel, readNewItems } from './new-items';
import type { ItemContentArtifact } from '../contracts/artifacts';

/** Everything serving needs of one model version, loaded once per container. */
export interface ServedModel {
  readonly manifest: ModelManifest;
  readonly items: ItemIndex;
  /** Computes vectors for users whose history changed since training, or who are new. */
  readonly tower: UserTower;
  /** User id → row in the training data (precomputed vectors exist for these). */
  readonly userIds: ReadonlyMap<string, number>;
  /**
   * Fallback scores per item index: its share of all (weighted) interactions, and of recency-weighted ones —
   * the popularity prior cold-start and fallback lists rank by and answer with.
   */
  readonly popularity: Float32Array;
  readonly trending: Float32Array;
  /** Per item: neighbour indices with similarities (item-kNN baseline). */
  readonly itemKnn: ItemNeighbourTable;
  /** Customer segments of this version (absent for models trained before segmentation). */
  readonly segments?: SegmentsArtifact;
  /** Propensity targets of this version (the scores are per user in DynamoDB). */
  readonly propensity?: Record<PropensityTarget, TargetSummary>;
  /** Uplift models of the experiments running at training (the scores are per user in DynamoDB). */
  readonly uplift?: readonly ExperimentUpliftSummary[];
  /** Items appended since training (index → Unix seconds listed), scored by their content vector. */
  readonly newItems?: ReadonlyMap<number, number>;
}

/** Items the user tower and the item-kNN table know: the trained ones, before any appended new item. */
export function trainedItemCount(model: Pick<ServedModel, 'items' | 'newItems'>): number {
  return model.items.size - (model.newItems?.size ?? 0);
}

/** What a function that does not score needs: the manifest alone (`/v1/model`, `/v1/health`). */
export interface ManifestOnly {
  readonly manifest: ModelManifest;
}

/** What the similar-items function needs: the item index (vectors, ids, attributes) and item-kNN, no user tower. */
export type CatalogueModel = Pick<ServedModel, 'manifest' | 'items' | 'itemKnn' | 'newItems'>;

/** What the segments function needs: segment profiles and propensity summaries, no vectors. */
export interface SegmentsModel extends ManifestOnly {
  readonly segments?: SegmentsArtifact;
  readonly propensity?: Record<PropensityTarget, TargetSummary>;
  readonly uplift?: readonly ExperimentUpliftSummary[];
}

export interface ModelSource<M extends ManifestOnly = ServedModel> {
  /** The current manifest, or undefined when no model has been promoted yet. */
  manifest(): Promise<ModelManifest | undefined>;
  /** The artifacts of a version this function needs. */
  load(manifest: ModelManifest): Promise<M>;
  /** The served version with what arrived since it was loaded (new items); the same object when nothing did. */
  refresh?(model: M): Promise<M>;
}

/**
 * Holds the served model. Re-checks the manifest at most every `recheckMs`;
 * a new version is loaded completely in the background and then swapped in by
 * one reference assignment, so a request sees either the old model or the new
 * one, never a half-loaded one. A failed load keeps the old model.
 */
export class ModelStore<M extends ManifestOnly = ServedModel> {
  private model: M | undefined;
  private checkedAt = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly source: ModelSource<M>,
    private readonly recheckMs: number,
    private readonly now: () => number = Date.now,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  /** The model to serve this request with; undefined only before any model exists. */
  async current(): Promise<M | undefined> {
    if (this.now() - this.checkedAt >= this.recheckMs && !this.refreshing) this.startRefresh();
    // Only the very first load is waited for; later swaps happen behind running requests.
    if (!this.model && this.refreshing) await this.refreshing;
    return this.model;
  }

  /**
   * Re-checks the manifest now and resolves once the newest version is served
   * (or the check failed): what an operator's reload, or a test, waits for.
   */
  async refreshNow(): Promise<M | undefined> {
    if (this.refreshing) await this.refreshing;
    await this.startRefresh();
    return this.model;
  }

  /** The last refresh's failure (S3 unreachable, an artifact missing), until a refresh succeeds. */
  get lastError(): unknown {
    return this.failure;
  }

  private failure: unknown;

  /** One manifest check at a time; the promise is the check in flight. */
  private startRefresh(): Promise<void> {
    this.checkedAt = this.now();
    this.refreshing = this.refresh().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async refresh(): Promise<void> {
    try {
      const manifest = await this.source.manifest();
      if (manifest && manifest.version !== this.model?.manifest.version)
        this.model = await this.source.load(manifest);
      else if (this.model && this.source.refresh) this.model = await this.source.refresh(this.model);
      this.failure = undefined;
    } catch (error) {
      this.failure = error;
      this.onError(error);
    }
  }
}

async function readBytes(s3: S3Client, bucket: string, key: string): Promise<Uint8Array> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await object.Body?.transformToByteArray()) ?? new Uint8Array();
}

async function readOptionalBytes(s3: S3Client, bucket: string, key: string): Promise<Uint8Array> {
  try {
    return await readBytes(s3, bucket, key);
  } catch (error) {
    if (error instanceof NoSuchKey) return new Uint8Array();
    throw error;
  }
}

/** `model.json` as the training job writes it. */
interface ModelDescription {
  readonly shape: {
    numUsers: number;
    numItems: number;
    embeddingDim: number;
    sequenceLength: number;
    userFeatureDim?: number;
  };
  readonly weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
}

async function readJson<T>(s3: S3Client, bucket: string, key: string): Promise<T> {
  return JSON.parse(Buffer.from(await readBytes(s3, bucket, key)).toString('utf8')) as T;
}

const readManifest = (s3: S3Client, bucket: string) => () =>
  readJsonIfExists<ModelManifest>(s3, bucket, MANIFEST_KEY);

/** The manifest only: reads nothing else of a version. */
export function s3ManifestSource(s3: S3Client, bucket: string): ModelSource<ManifestOnly> {
  return { manifest: readManifest(s3, bucket), load: async (manifest) => ({ manifest }) };
}

/** The manifest with segment profiles and propensity summaries (no vectors, no weights). */
export function s3SegmentsSource(s3: S3Client, bucket: string): ModelSource<SegmentsModel> {
  return {
    manifest: readManifest(s3, bucket),
    load: async (manifest) => ({ manifest, ...(await readSegmentParts(s3, bucket, manifest.version)) }),
  };
}

async function readSegmentParts(
  s3: S3Client,
  bucket: string,
  version: string,
): Promise<Omit<SegmentsModel, 'manifest'>> {
  const [segments, propensity, uplift] = await Promise.all([
    readOptionalBytes(s3, bucket, artifactKey(version, 'segments')),
    readOptionalBytes(s3, bucket, artifactKey(version, 'propensity')),
    readOptionalBytes(s3, bucket, artifactKey(version, 'uplift')),
  ]);
  return {
    ...(segments.byteLength > 0
      ? { segments: JSON.parse(Buffer.from(segments).toString('utf8')) as SegmentsArtifact }
      : {}),
    ...(propensity.byteLength > 0
      ? {
          propensity: JSON.parse(Buffer.from(propensity).toString('utf8')) as Record<
            PropensityTarget,
            TargetSummary
          >,
        }
      : {}),
    ...(uplift.byteLength > 0
      ? { uplift: JSON.parse(Buffer.from(uplift).toString('utf8')) as ExperimentUpliftSummary[] }
      : {}),
  };
}

/**
 * Per-item popularity and trending shares: from `baseline-scores.bin`, or — for a version trained before it
 * existed — from the top lists in `baselines.json` (items beyond them score 0).
 */
function baselineScores(
  bytes: Uint8Array,
  lists: { popularity: [number, number][]; trending: [number, number][] },
  numItems: number,
): { popularity: Float32Array; trending: Float32Array } {
  if (bytes.byteLength === numItems * 2 * 4) {
    const scores = float32FromBytes(bytes);
    return { popularity: scores.subarray(0, numItems), trending: scores.subarray(numItems) };
  }
  const share = (list: [number, number][]) => {
    const scores = new Float32Array(numItems);
    const total = list.reduce((sum, [, score]) => sum + Math.max(score, 0), 0);
    for (const [index, score] of list) if (index < numItems) scores[index] = total > 0 ? score / total : 0;
    return scores;
  };
  return { popularity: share(lists.popularity), trending: share(lists.trending) };
}

/** The item side of a version: vectors, ids and attributes in an `ItemIndex`, and the item-kNN neighbours. */
async function readCatalogueParts(
  s3: S3Client,
  bucket: string,
  version: string,
): Promise<Omit<CatalogueModel, 'manifest'> & { itemIds: string[]; baselines: StoredBaselines }> {
  const [vectorBytes, itemIds, itemAttributes, baselines, neighbourBytes] = await Promise.all([
    readBytes(s3, bucket, artifactKey(version, 'itemVectors')),
    readJson<string[]>(s3, bucket, artifactKey(version, 'itemIds')),
    readJson<{ items: ItemAttributes[] }>(s3, bucket, artifactKey(version, 'itemAttributes')),
    readJson<StoredBaselines>(s3, bucket, artifactKey(version, 'baselines')),
    readOptionalBytes(s3, bucket, artifactKey(version, 'itemNeighbours')),
  ]);
  return {
    itemIds,
    baselines,
    // Copy into an aligned buffer: the SDK's byte array may be a view at any offset.
    items: new ItemIndex(float32FromBytes(vectorBytes), itemIds, itemAttributes.items),
    itemKnn:
      neighbourBytes.byteLength > 0
        ? decodeNeighbourTable(neighbourBytes)
        : neighbourTable(
            (baselines.itemKnn ?? []).map((list) => ({
              ids: list.map(([id]) => id),
              similarities: list.map(([, similarity]) => similarity),
            })),
            (baselines.itemKnn ?? []).reduce((most, list) => Math.max(most, list.length), 0),
          ),
  };
}

interface StoredBaselines {
  popularity: [number, number][];
  trending: [number, number][];
  /** Versions trained before item-neighbours.bin. */
  itemKnn?: [number, number][][];
}

/** How far back items listed but unknown to the model count as new (Personalize's default item age cutoff). */
export const NEW_ITEM_WINDOW_DAYS = 30;

/**
 * Appends the items listed since the version was trained (within NEW_ITEM_WINDOW_DAYS before it) that it does
 * not know, with content vectors; per-item scores grow with zeros. One growth state per source: each
 * refresh reads only curated item parts it has not read yet.
 */
function catalogueGrowth(s3: S3Client, bucket: string) {
  let state: { version: string; content?: ItemContentModel; seen: Set<string> } | undefined;
  return async <M extends CatalogueModel & Partial<Pick<ServedModel, 'popularity' | 'trending'>>>(
    model: M,
  ): Promise<M> => {
    const version = model.manifest.version;
    if (state?.version !== version) {
      const content = await readOptionalBytes(s3, bucket, artifactKey(version, 'itemContent'));
      state = {
        version,
        seen: new Set(),
        ...(content.byteLength > 0
          ? {
              content: new ItemContentModel(
                JSON.parse(Buffer.from(content).toString('utf8')) as ItemContentArtifact,
              ),
            }
          : {}),
      };
    }
    // A version trained before item-content.json cannot place items it never saw.
    if (!state.content) return model;
    const since = Date.parse(model.manifest.trainedAt) / 1000 - NEW_ITEM_WINDOW_DAYS * 86_400;
    const added = await readNewItems(
      s3,
      bucket,
      since,
      (itemId) => model.items.indexOf(itemId) !== undefined,
      state.seen,
    );
    if (added.length === 0) return model;
    const items = appendItems(model.items, state.content, added);
    const newItems = new Map(model.newItems);
    added.forEach((item, offset) => newItems.set(model.items.size + offset, item.addedAt));
    const grown = (scores: Float32Array | undefined) => {
      if (!scores) return undefined;
      const out = new Float32Array(items.size);
      out.set(scores);
      return out;
    };
    const popularity = grown(model.popularity);
    const trending = grown(model.trending);
    return {
      ...model,
      items,
      newItems,
      ...(popularity ? { popularity } : {}),
      ...(trending ? { trending } : {}),
    };
  };
}

/** The item side only (`/v1/items/{itemId}/similar`): no user tower weights, user ids or segments. */
export function s3CatalogueSource(s3: S3Client, bucket: string): ModelSource<CatalogueModel> {
  const grow = catalogueGrowth(s3, bucket);
  return {
    manifest: readManifest(s3, bucket),
    async load(manifest) {
      const { items, itemKnn } = await readCatalogueParts(s3, bucket, manifest.version);
      return grow({ manifest, items, itemKnn });
    },
    refresh: grow,
  };
}

/** Reads manifests and every artifact scoring needs from the data bucket (`models/`). */
export function s3ModelSource(s3: S3Client, bucket: string): ModelSource {
  const grow = catalogueGrowth(s3, bucket);
  return {
    manifest: readManifest(s3, bucket),
    refresh: grow,
    async load(manifest) {
      const version = manifest.version;
      const [
        description,
        weightBytes,
        userFeatureBytes,
        userIds,
        baselineScoreBytes,
        catalogue,
        segmentParts,
      ] = await Promise.all([
        readJson<ModelDescription>(s3, bucket, artifactKey(version, 'model')),
        readBytes(s3, bucket, artifactKey(version, 'weights')),
        readOptionalBytes(s3, bucket, artifactKey(version, 'userFeatures')),
        readJson<string[]>(s3, bucket, artifactKey(version, 'userIds')),
        readOptionalBytes(s3, bucket, artifactKey(version, 'baselineScores')),
        readCatalogueParts(s3, bucket, version),
        readSegmentParts(s3, bucket, version),
      ]);
      const tower = new UserTower(
        { ...description.shape, userFeatureDim: description.shape.userFeatureDim ?? 0 },
        decodeWeights(
          description.weightsManifest.flatMap((group) => group.weights),
          weightBytes,
        ),
        float32FromBytes(userFeatureBytes),
      );
      return grow({
        manifest,
        tower,
        items: catalogue.items,
        itemKnn: catalogue.itemKnn,
        userIds: new Map(userIds.map((id, index) => [id, index])),
        ...baselineScores(baselineScoreBytes, catalogue.baselines, catalogue.itemIds.length),
        ...segmentParts,
      });
    },
  };
}
