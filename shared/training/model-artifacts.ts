import { encodeNeighbourTable, neighbourTable } from '../data/item-neighbours';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ARTIFACT_FILES, artifactKey } from '../contracts/artifacts';
import type { ExperimentResult } from '../ml/experiment';
import type { TwoTowerModel } from '../ml/two-tower';
import type { CuratedData } from './curated-data';
import { baselineShares, categoryAttribute, servedAttributes, topList } from './item-catalogue';
import type { ItemContentArtifact } from '../contracts/artifacts';

/** Item-kNN neighbours kept per item for serving. */
const SERVED_NEIGHBOURS_PER_ITEM = 50;

export async function putJson(s3: S3Client, bucket: string, key: string, value: unknown): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: JSON.stringify(value),
      ContentType: 'application/json',
    }),
  );
}

/**
 * What serving loads of a version, under models/<version>/: the model and its weights, the item matrix (vector
 * plus bias per item), user features, ids, the items' attributes, and the baselines with their per-item
 * scores. Written before anything that points at the version.
 */
export async function writeModelArtifacts(
  { s3, bucket }: { s3: S3Client; bucket: string },
  version: string,
  {
    model,
    data,
    categoryVocabulary,
    itemCategories,
    baselines,
  }: {
    model: TwoTowerModel;
    data: CuratedData;
    categoryVocabulary: readonly string[];
    /** Per item `slots` 1-based category indices (0 = none), as the item tower reads them. */
    itemCategories: { readonly indices: Int32Array; readonly slots: number };
    baselines: ExperimentResult['baselines'];
  },
): Promise<void> {
  const { specs, data: weights } = await model.serialize();
  const d = model.shape.embeddingDim;
  const numItems = data.log.itemIds.length;
  const itemVectors = model.itemMatrix();
  await putJson(s3, bucket, artifactKey(version, 'model'), {
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
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: artifactKey(version, 'weights'),
      Body: new Uint8Array(weights),
    }),
  );
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: artifactKey(version, 'itemVectors'),
      Body: new Uint8Array(itemVectors.buffer),
    }),
  );
  const userFeatures = model.shape.userFeatures ?? new Float32Array(0);
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: artifactKey(version, 'userFeatures'),
      Body: new Uint8Array(userFeatures.buffer, userFeatures.byteOffset, userFeatures.byteLength),
    }),
  );
  const itemContent = itemContentArtifact(itemVectors, d, categoryVocabulary, itemCategories);
  await putJson(s3, bucket, artifactKey(version, 'itemContent'), itemContent);
  await putJson(s3, bucket, artifactKey(version, 'itemIds'), data.log.itemIds);
  await putJson(s3, bucket, artifactKey(version, 'userIds'), data.log.userIds);
  await putJson(s3, bucket, artifactKey(version, 'itemAttributes'), {
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
  await putJson(s3, bucket, artifactKey(version, 'baselines'), {
    popularity: topList(baselines.popularity, 1000),
    trending: topList(baselines.trending, 1000),
  });
  const knn = baselines.itemKnn;
  const neighbours = neighbourTable(
    knn.neighbours.map((ids, item) => ({ ids, similarities: knn.similarities[item] ?? new Float32Array() })),
    SERVED_NEIGHBOURS_PER_ITEM,
  );
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: artifactKey(version, 'itemNeighbours'),
      Body: encodeNeighbourTable(neighbours),
    }),
  );
  const baselineScores = baselineShares(baselines.popularity, baselines.trending);
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: artifactKey(version, 'baselineScores'),
      Body: new Uint8Array(baselineScores.buffer),
    }),
  );
}

/**
 * What an item the model never saw starts as: the centroid of the learned item vectors (with biases) of each
 * category — the model's own idea of an average item there — and the overall centroid for items without a
 * known category. The raw category embeddings alone are a poor stand-in: training puts most of a category's
 * signal into its items' id embeddings (measured: a new item placed by them ranked *lower* for the category's
 * fans than for users who never touch it).
 */
export function itemContentArtifact(
  itemVectors: Float32Array,
  d: number,
  categoryVocabulary: readonly string[],
  itemCategories: { readonly indices: Int32Array; readonly slots: number },
): ItemContentArtifact {
  const width = d + 1;
  const numItems = itemVectors.length / width;
  const sums = Array.from({ length: categoryVocabulary.length + 1 }, () => new Float64Array(width));
  const counts = new Float64Array(categoryVocabulary.length + 1);
  for (let item = 0; item < numItems; item++) {
    // Row 0 collects every item: the overall centroid.
    const rows = new Set([0]);
    for (let slot = 0; slot < itemCategories.slots; slot++) {
      const row = itemCategories.indices[item * itemCategories.slots + slot] ?? 0;
      if (row > 0) rows.add(row);
    }
    for (const row of rows) {
      const sum = sums[row] as Float64Array;
      for (let dimension = 0; dimension < width; dimension++)
        sum[dimension] = (sum[dimension] as number) + (itemVectors[item * width + dimension] as number);
      counts[row] = (counts[row] as number) + 1;
    }
  }
  return {
    format: 'mappa-item-content/2',
    embeddingDim: d,
    categories: categoryVocabulary,
    centroids: sums.map((sum, row) =>
      Array.from(sum, (value) => Number((value / Math.max(counts[row] as number, 1)).toFixed(6))),
    ),
  };
}
