import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { assertBalanced, type IngestionStack, startIngestionStack } from '../support/ingestion';

const T = 1_760_000_000;

/**
 * Faults dynalite cannot produce (a throttled or dropped DynamoDB call) are
 * injected with an SDK middleware on the real client; everything else is real.
 */
function failPutItems(client: DynamoDBClient, shouldFail: (tableName: string) => boolean): () => void {
  const name = `inject-fault-${Math.random()}`;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { TableName?: string };
      if (context.commandName === 'PutItemCommand' && shouldFail(input.TableName ?? '')) {
        throw Object.assign(new Error('injected: ProvisionedThroughputExceededException'), {
          name: 'ThrottlingException',
        });
      }
      return next(args);
    },
    { step: 'initialize', name },
  );
  return () => client.middlewareStack.remove(name);
}

describe('preprocess failure handling', () => {
  let env: IngestionStack;
  beforeEach(async () => {
    env = await startIngestionStack();
  });
  afterEach(() => env.stop());

  const file = [
    'user_id,item_id,timestamp,event_type,event_value',
    `kim,i1,${T},view,`,
    `kim,i2,${T + 1},purchase,20`,
    `lee,i1,${T + 2},view,`,
  ].join('\n');

  it('retries after a crash between the user and item updates without double-counting', async () => {
    // Prepare: the first write to the items table fails, after the users were already updated.
    let itemWritesFailed = 0;
    const restore = failPutItems(env.stack.clientsFor('preprocess').dynamoDb, (table) => {
      if (!table.endsWith('-items') || itemWritesFailed > 0) return false;
      itemWritesFailed++;
      return true;
    });

    // Act: the bridge delivers the event again after the failure, as Lambda's async retry does.
    await env.drop('incoming/interactions/retry.csv', file);
    restore();

    // Assess
    expect(itemWritesFailed).toBe(1);
    expect(env.stack.deadLetters).toHaveLength(0);
    expect(await env.featureStore.users.get('kim')).toMatchObject({
      event_count: 2,
      purchase_count: 1,
      revenue: 20,
    });
    expect((await env.featureStore.items.get('i1'))?.event_count).toBe(2);
    const report = await env.report('interactions/retry.csv');
    assertBalanced(report);
    expect(report).toMatchObject({ accepted: 3, duplicates: 0 });
  });

  it('finishes a file whose first attempt died while publishing the report', async () => {
    const name = 'fail-first-report';
    let failures = 0;
    env.stack.clientsFor('preprocess').s3.middlewareStack.add(
      (next, context) => async (args) => {
        const key = (args.input as { Key?: string }).Key ?? '';
        if (
          context.commandName === 'PutObjectCommand' &&
          key.startsWith('reports/ingestion/') &&
          failures === 0
        ) {
          failures++;
          throw new Error('injected: invocation timed out');
        }
        return next(args);
      },
      { step: 'initialize', name },
    );
    try {
      await env.drop('incoming/interactions/late.csv', `${file}\nkim,i3,not-a-time,view,`);
    } finally {
      env.stack.clientsFor('preprocess').s3.middlewareStack.remove(name);
    }

    expect(failures).toBe(1);
    expect(env.stack.deadLetters).toHaveLength(0);
    const report = await env.report('interactions/late.csv');
    assertBalanced(report);
    expect(report).toMatchObject({ accepted: 3, rejected: 1 });
    expect((await env.readText('rejected/interactions/late.csv.jsonl')).trim().split('\n')).toHaveLength(1);
    expect(await env.keys('rejected/interactions/_parts/')).toEqual([]);
  });

  it('dead-letters a file that keeps failing, with its key, and publishes no report', async () => {
    const restore = failPutItems(env.stack.clientsFor('preprocess').dynamoDb, (table) =>
      table.endsWith('-users'),
    );

    await env.drop('incoming/interactions/doomed.csv', file);
    restore();

    expect(env.stack.deadLetters).toHaveLength(1);
    expect(env.stack.deadLetters[0]?.event.Records[0]?.s3.object.key).toBe(
      'incoming/interactions/doomed.csv',
    );
    expect(env.stack.deadLetters[0]?.error).toContain('injected');
    expect(await env.keys('reports/ingestion/interactions/doomed.csv')).toEqual([]);
    expect(await env.keys('curated/interactions/doomed.csv/')).toEqual([]);
  });
});
