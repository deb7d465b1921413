import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AttributeValue, ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { IngestionReport } from '../../shared/ingest/ingestion-types';
import { EmbeddedStack } from '../../shared/local/embedded-stack';
import { runMappa } from '../support/cli';
import { ML_100K } from '../support/shared-data';

describe('mappa ingest', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mappa-cli-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const stackFlags = () => ['--data-dir', join(dir, 'stack'), '--s3-port', '0', '--dynamodb-port', '0'];

  it('ingests MovieLens u.data with a mapping: all 100,000 rows, 943 users, 1,682 items', async () => {
    // Prepare: the data set is read where it lies, never copied into the repository.
    expect(existsSync(ML_100K)).toBe(true);
    const mapping = join(dir, 'ml-100k.mapping.json');
    writeFileSync(
      mapping,
      JSON.stringify({
        delimiter: '\t',
        header: ['user_id', 'item_id', 'event_value', 'timestamp'],
        constants: { event_type: 'rating' },
        // As the README shows: ratings below 3.5 are negatives, for all interactions.
        events: { rating: { positiveThreshold: 3.5 } },
      }),
    );

    // Act
    const result = runMappa([
      'ingest',
      ML_100K,
      '--dataset',
      'interactions',
      '--mapping',
      mapping,
      '--json',
      ...stackFlags(),
    ]);

    // Assess
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout) as IngestionReport;
    expect(report).toMatchObject({
      status: 'completed',
      rows_in: 100_000,
      accepted: 100_000,
      duplicates: 0,
      rejected: 0,
    });
    const stack = await EmbeddedStack.start({ dataDir: join(dir, 'stack'), s3Port: 0, dynamoDbPort: 0 });
    try {
      const count = async (table: string) => {
        let total = 0;
        let start: Record<string, AttributeValue> | undefined;
        do {
          const page = await stack.dynamoDb.send(
            new ScanCommand({ TableName: table, Select: 'COUNT', ExclusiveStartKey: start }),
          );
          total += page.Count ?? 0;
          start = page.LastEvaluatedKey;
        } while (start);
        return total;
      };
      expect(await count(stack.names.tables.users)).toBe(943);
      expect(await count(stack.names.tables.items)).toBe(1682);
      // The policy went to the dataset's own mapping (the one training reads); the file's mapping has the rest.
      const mappings = await stack.s3.send(
        new ListObjectsV2Command({ Bucket: stack.names.dataBucket, Prefix: 'incoming/interactions/' }),
      );
      const mappingKeys = (mappings.Contents ?? [])
        .map((object) => object.Key as string)
        .filter((key) => key.endsWith('_mapping.json'));
      expect(mappingKeys).toHaveLength(2);
      const read = async (key: string) =>
        JSON.parse(
          (await (
            await stack.s3.send(new GetObjectCommand({ Bucket: stack.names.dataBucket, Key: key }))
          ).Body?.transformToString()) ?? '',
        ) as Record<string, unknown>;
      expect(await read('incoming/interactions/_mapping.json')).toEqual({
        events: { rating: { positiveThreshold: 3.5 } },
      });
      const own = await read(
        mappingKeys.find((key) => key !== 'incoming/interactions/_mapping.json') as string,
      );
      expect(own).toMatchObject({ constants: { event_type: 'rating' } });
      expect(own).not.toHaveProperty('events');
    } finally {
      await stack.stop();
    }
  });

  it('exits non-zero with the reason when the whole file is rejected', () => {
    const file = join(dir, 'customers.csv');
    writeFileSync(file, 'customer,product\n1,2\n');

    const result = runMappa(['ingest', file, '--dataset', 'interactions', ...stackFlags()]);

    expect(result.status).toBe(4);
    expect(result.stdout).toContain('Quarantined incoming/interactions/customers/customers.csv');
    expect(result.stdout).toContain(
      'missing_required_columns: required column(s) user_id, item_id, timestamp missing',
    );
  });

  it('names the bad flag or file instead of printing a stack trace', () => {
    const missing = runMappa(['ingest', join(dir, 'nope.csv'), '--dataset', 'interactions', ...stackFlags()]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toBe(`mappa: file '${join(dir, 'nope.csv')}' does not exist or is not a file\n`);

    const file = join(dir, 'x.csv');
    writeFileSync(file, 'user_id\n');
    const dataset = runMappa(['ingest', file, '--dataset', 'orders', ...stackFlags()]);
    expect(dataset.status).toBe(2);
    expect(dataset.stderr).toContain("--dataset must be one of interactions, users, items, got 'orders'");
  });
});
