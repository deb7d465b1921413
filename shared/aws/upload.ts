import { createReadStream, statSync } from 'node:fs';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

/**
 * Streams a local file to S3 (multipart above 8 MiB), so a file of any size
 * uploads in bounded memory. Returns the object's ETag.
 */
export async function uploadFile(s3: S3Client, bucket: string, key: string, path: string): Promise<string> {
  const size = statSync(path).size;
  const upload = new Upload({
    client: s3,
    params: { Bucket: bucket, Key: key, Body: createReadStream(path), ContentLength: size },
    partSize: 8 * 1024 * 1024,
    queueSize: 2,
  });
  const result = await upload.done();
  return (result.ETag ?? '').replace(/"/g, '');
}
