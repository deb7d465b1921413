import { once } from 'node:events';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import {
  CAMPAIGN_COLUMNS,
  csvLine,
  INTERACTIONS_COLUMNS,
  ITEMS_COLUMNS,
  USERS_COLUMNS,
} from '../data/formats';
import { type SyntheticConfig, SyntheticWorld } from './generator';

export interface WrittenFile {
  readonly path: string;
  readonly rows: number;
}

export interface SyntheticFiles {
  readonly interactions: WrittenFile;
  readonly users: WrittenFile;
  readonly items: WrittenFile;
  readonly campaigns: WrittenFile;
}

export interface WriteOptions {
  /** Write `.csv.gz` instead of `.csv`. @default false */
  readonly gzip?: boolean;
  /** Called every `progressEvery` interaction rows with the count so far. */
  readonly onProgress?: (rows: number) => void;
  /** @default 100_000 */
  readonly progressEvery?: number;
}

/** Writes the canonical CSV files of a synthetic dataset into `dir`, streaming. */
export async function writeSyntheticDataset(
  dir: string,
  config: SyntheticConfig,
  options: WriteOptions = {},
): Promise<SyntheticFiles> {
  mkdirSync(dir, { recursive: true });
  const world = new SyntheticWorld(config);
  const extension = options.gzip ? '.csv.gz' : '.csv';
  const every = options.progressEvery ?? 100_000;

  const items = await writeCsv(
    join(dir, `items${extension}`),
    ITEMS_COLUMNS,
    world.items.map((item) => [item.itemId, item.category, item.price, item.brand]),
    options.gzip,
  );
  const users = await writeCsv(
    join(dir, `users${extension}`),
    USERS_COLUMNS,
    world.users.map((user) => [user.userId, user.age, user.region, user.loyaltyTier, user.signupTimestamp]),
    options.gzip,
  );
  const interactions = await writeCsv(
    join(dir, `interactions${extension}`),
    INTERACTIONS_COLUMNS,
    mapIterable(world.interactions(), (row, index) => {
      if (options.onProgress && (index + 1) % every === 0) options.onProgress(index + 1);
      return [row.userId, row.itemId, row.timestamp, row.eventType, row.eventValue ?? ''];
    }),
    options.gzip,
  );
  const campaigns = await writeCsv(
    join(dir, `campaigns${extension}`),
    CAMPAIGN_COLUMNS,
    mapIterable(world.campaignExposures(), (row) => [
      row.campaignId,
      row.userId,
      row.timestamp,
      row.channel,
      row.converted,
      row.revenue,
    ]),
    options.gzip,
  );
  return { interactions, users, items, campaigns };
}

function* mapIterable<T, U>(source: Iterable<T>, map: (value: T, index: number) => U): Generator<U> {
  let index = 0;
  for (const value of source) yield map(value, index++);
}

/** Streams rows into a CSV file, honouring back-pressure; batches lines to keep syscalls few. */
async function writeCsv(
  path: string,
  header: readonly string[],
  rows: Iterable<readonly (string | number)[]>,
  gzip = false,
): Promise<WrittenFile> {
  const file = createWriteStream(path);
  const sink: Writable = gzip ? createGzip() : file;
  if (gzip) sink.pipe(file);
  let count = 0;
  let buffer = `${header.join(',')}\n`;
  for (const row of rows) {
    buffer += `${csvLine(row)}\n`;
    count++;
    if (buffer.length >= 1 << 16) {
      if (!sink.write(buffer)) await once(sink, 'drain');
      buffer = '';
    }
  }
  sink.end(buffer);
  await once(file, 'finish');
  return { path, rows: count };
}
