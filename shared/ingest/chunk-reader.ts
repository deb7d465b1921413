import type { Dataset } from '../resources/definitions';
import { ChunkBuilder } from './chunk-builder';
import type { RecordSplitter, SourceRecord } from './records';
import type { RowValidator } from './validate';

/**
 * The source stopped being readable part-way: a gzip stream cut short or corrupt. Not a transient error —
 * reading again gives the same bytes — so it is never retried.
 */
export class UnreadableSource extends Error {
  constructor(
    readonly reason: 'truncated_gzip' | 'corrupt_gzip',
    message: string,
  ) {
    super(message);
    this.name = 'UnreadableSource';
  }
}

/** zlib's errors for a stream that ends early or holds bytes that are not deflate data. */
function unreadable(error: unknown): UnreadableSource | undefined {
  const code = (error as { code?: string } | undefined)?.code;
  if (code === 'Z_BUF_ERROR' || (error instanceof Error && /unexpected end of file/i.test(error.message)))
    return new UnreadableSource(
      'truncated_gzip',
      'the gzip data ends before its end marker: the file was cut short',
    );
  if (code === 'Z_DATA_ERROR' || code === 'Z_NEED_DICT')
    return new UnreadableSource(
      'corrupt_gzip',
      `the gzip data is corrupt (${error instanceof Error ? error.message : String(error)})`,
    );
  return undefined;
}

export interface ChunkRead {
  readonly builder: ChunkBuilder;
  /** True when the source has no records after this chunk. */
  readonly exhausted: boolean;
}

/**
 * Cuts one open byte stream into consecutive chunks of at most `limit` records.
 * The stream stays open between chunks, so a gzip file is decompressed once per
 * invocation rather than again from its start for every chunk, and the next
 * chunk can be read while the previous one is being applied and uploaded.
 */
export class ChunkReader {
  private readonly chunks: AsyncIterator<Buffer>;
  /** Records split from the stream but not yet taken into a chunk. */
  private carried: SourceRecord[] = [];
  private streamDone = false;
  private reading = false;

  constructor(
    stream: AsyncIterable<Buffer>,
    private readonly splitter: RecordSplitter,
    private readonly validator: RowValidator,
    private readonly dataset: Dataset,
    private readonly limit: number,
  ) {
    this.chunks = stream[Symbol.asyncIterator]();
  }

  /** The next chunk. One read at a time: chunks are cut in stream order. */
  async read(): Promise<ChunkRead> {
    if (this.reading) throw new Error('ChunkReader.read called while a read is in progress');
    this.reading = true;
    try {
      const builder = new ChunkBuilder(this.validator, this.dataset);
      while (builder.size < this.limit && (await this.hasMore())) {
        const take = Math.min(this.carried.length, this.limit - builder.size);
        for (let index = 0; index < take; index++) builder.add(this.carried[index] as SourceRecord);
        this.carried = take === this.carried.length ? [] : this.carried.slice(take);
      }
      return { builder, exhausted: !(await this.hasMore()) };
    } finally {
      this.reading = false;
    }
  }

  /** Whether records follow; pulls from the stream only when none are carried. */
  private async hasMore(): Promise<boolean> {
    while (this.carried.length === 0 && !this.streamDone) {
      let next: IteratorResult<Buffer>;
      try {
        next = await this.chunks.next();
      } catch (error) {
        throw unreadable(error) ?? error;
      }
      if (next.done) {
        this.streamDone = true;
        this.carried = this.splitter.end();
      } else {
        this.carried = this.splitter.push(next.value);
      }
    }
    return this.carried.length > 0;
  }

  /** Stops the underlying stream (an abandoned read-ahead must not keep the connection open). */
  async close(): Promise<void> {
    await this.chunks.return?.();
  }
}
