/**
 * S3 event notifications carry object keys URL-encoded, with spaces as `+`
 * (application/x-www-form-urlencoded). These helpers are the one place that
 * converts between the raw key and its event form.
 */

/** Decodes a key as it appears in an S3 event record. */
export function decodeS3EventKey(encoded: string): string {
  return decodeURIComponent(encoded.replace(/\+/g, ' '));
}

/**
 * Encodes a raw key the way S3 puts it into event records: form-encoding
 * (space as `+`, `!'()~` escaped, `*` kept) with `/` left readable.
 */
export function encodeS3EventKey(raw: string): string {
  return encodeURIComponent(raw)
    .replace(/%20/g, '+')
    .replace(/%2F/g, '/')
    .replace(/[!'()~]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}
