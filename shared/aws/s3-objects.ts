import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  type S3Client,
} from '@aws-sdk/client-s3';

/** Small S3 reads several modules share: objects that may not exist yet, and listing a prefix. */
export async function readTextIfExists(
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<string | undefined> {
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return (await object.Body?.transformToString('utf8')) ?? '';
  } catch (error) {
    if (error instanceof NoSuchKey) return undefined;
    throw error;
  }
}

export async function readJsonIfExists<T>(s3: S3Client, bucket: string, key: string): Promise<T | undefined> {
  const text = await readTextIfExists(s3, bucket, key);
  return text === undefined ? undefined : (JSON.parse(text) as T);
}

/**
 * The keys under a prefix in S3's (lexicographic) order: all pages, or pages
 * until at least `atLeast` keys are in hand (the result may hold a few more).
 */
export async function listKeys(
  s3: S3Client,
  bucket: string,
  prefix: string,
  atLeast = Number.POSITIVE_INFINITY,
): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
    token = page.NextContinuationToken;
  } while (token && keys.length < atLeast);
  return keys;
}

/** Deletes the given keys, in as many DeleteObjects calls as S3's 1,000-key limit needs. */
export async function deleteKeys(s3: S3Client, bucket: string, keys: readonly string[]): Promise<void> {
  for (let start = 0; start < keys.length; start += 1_000) {
    await s3.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: keys.slice(start, start + 1_000).map((Key) => ({ Key })), Quiet: true },
      }),
    );
  }
}
