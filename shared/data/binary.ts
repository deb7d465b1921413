/**
 * Float32 vectors stored as raw bytes (S3 artifacts, DynamoDB binary
 * attributes). The SDK may hand back a view at any byte offset, so the bytes
 * are copied into a fresh, aligned buffer.
 */
export function float32FromBytes(bytes: Uint8Array): Float32Array {
  if (bytes.byteLength % 4 !== 0) {
    throw new Error(`${bytes.byteLength} bytes are not a whole number of float32 values`);
  }
  const values = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(values.buffer).set(bytes);
  return values;
}
