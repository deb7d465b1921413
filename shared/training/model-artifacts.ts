import { encodeNeighbourTable, neighbourTable } from '../data/item-neighbours';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ARTIFACT_FILES, artifactKey } from '../contracts/artifacts';
import type { ExperimentResult } from '../ml/experiment';
import type { TwoTowerModel } from '../ml/two-tower';
import type { CuratedData } from './curated-data';
import { baselineShares, categoryAttribute, servedAttributes, topList } from './item-catalogue';

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
    baselines,
  }: {
    model: TwoTowerModel;
    data: CuratedData;
    categoryVocabulary: readonly string[];
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
