import crypto from 'node:crypto';

/**
 * s3rver 3.7 mints ListObjectsV2 continuation tokens with single DES (`createCipheriv('des', …)`), which
 * OpenSSL 3 — every Node since 17 — refuses: any listing of more than 1,000 keys (the first page of a
 * truncated listing) answered **500 InternalError**. That was the cause of the events compactor failing with
 * 5,101 staged objects: the code was right, the double was not (S3 pages listings fine).
 *
 * Triple DES with one key repeated three times *is* single DES, and OpenSSL 3 still offers it, so 'des' is
 * mapped onto 'des-ede3-cbc' with the key tripled: the same tokens, decipherable by s3rver as before. Only
 * the algorithm Node no longer supports is touched.
 */
let installed = false;

export function enableS3rverContinuationTokens(): void {
  if (installed) return;
  installed = true;
  const createCipheriv = crypto.createCipheriv.bind(crypto);
  const createDecipheriv = crypto.createDecipheriv.bind(crypto);
  const tripled = (key: crypto.CipherKey) => {
    const bytes = Buffer.from(key as Uint8Array);
    return Buffer.concat([bytes, bytes, bytes]);
  };
  Object.assign(crypto, {
    createCipheriv: (algorithm: string, key: crypto.CipherKey, iv: crypto.BinaryLike | null, ...rest: []) =>
      algorithm === 'des'
        ? createCipheriv('des-ede3-cbc', tripled(key), iv)
        : createCipheriv(algorithm, key, iv, ...rest),
    createDecipheriv: (
      algorithm: string,
      key: crypto.CipherKey,
      iv: crypto.BinaryLike | null,
      ...rest: []
    ) =>
      algorithm === 'des'
        ? createDecipheriv('des-ede3-cbc', tripled(key), iv)
        : createDecipheriv(algorithm, key, iv, ...rest),
  });
}
