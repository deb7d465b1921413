/**
 * V8 flags for a process that runs ingestion: the preprocess Lambda's
 * NODE_OPTIONS and the ingestion benchmark's workers.
 *
 * A chunk's rows stay alive until the chunk is applied, and the next chunk is
 * read meanwhile. With V8's default young generation (semi-spaces growing to
 * 16 MiB) a long file settles around 200 MiB of RSS against 130 MiB for a
 * short one; with 2 MiB semi-spaces the rows are promoted early and a 5M-row
 * file peaks within 1.4x of a 100k-row one at the same throughput
 * (bench/results/ingest.json).
 */
export const INGESTION_V8_FLAGS: readonly string[] = ['--max-semi-space-size=2'];
