import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { useTestStack } from '../../support/local-stack';

/**
 * The local double refuses what AWS refuses. Each case is a request AWS
 * answers with an error; a double that accepted it would let code pass
 * locally and fail in production. dynalite enforces DynamoDB's limits itself
 * (these tests pin that an emulator change cannot drop one); S3's key length
 * is enforced by shared/local/service-limits.ts, since s3rver does not.
 */
describe('AWS limits in the local double', () => {
  const testStack = useTestStack();

  const users = () => testStack().names.tables.users;
  const ledger = () => testStack().names.tables.ledger;
  const put = (table: string, item: Record<string, { S: string }>) =>
    testStack().dynamoDb.send(new PutItemCommand({ TableName: table, Item: item }));

  it('refuses an S3 key over 1,024 UTF-8 bytes, for the operator and every deployable alike', async () => {
    const put = (client: ReturnType<typeof testStack>['s3'], key: string) =>
      client.send(new PutObjectCommand({ Bucket: testStack().names.dataBucket, Key: key, Body: 'x' }));
    // A key of `bytes` UTF-8 bytes in short folders (s3rver stores keys as file paths).
    const keyOf = (bytes: number) => {
      let key = 'reports/';
      while (Buffer.byteLength(key) + 99 <= bytes) key += `${'é'.repeat(49)}/`; // 99-byte folders
      return key + 'a'.repeat(bytes - Buffer.byteLength(key));
    };
    const tooLong = keyOf(1025);
    expect(Buffer.byteLength(tooLong)).toBe(1025);
    await expect(put(testStack().s3, tooLong)).rejects.toMatchObject({
      name: 'KeyTooLongError',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(put(testStack().clientsFor('preprocess').s3, tooLong)).rejects.toMatchObject({
      name: 'KeyTooLongError',
    });
    expect(Buffer.byteLength(keyOf(1024))).toBe(1024);
    await expect(put(testStack().s3, keyOf(1024))).resolves.toBeDefined();
  });

  it('refuses an item over 400 KB and accepts one just under it', async () => {
    await expect(
      put(users(), { user_id: { S: 'big' }, blob: { S: 'x'.repeat(400 * 1024) } }),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringMatching(/Item size has exceeded the maximum allowed size/),
    });
    await expect(
      put(users(), { user_id: { S: 'fits' }, blob: { S: 'x'.repeat(399 * 1024) } }),
    ).resolves.toBeDefined();
  });

  it('refuses an update that grows an item past 400 KB', async () => {
    await put(users(), { user_id: { S: 'grows' }, blob: { S: 'x'.repeat(300 * 1024) } });
    await expect(
      testStack().dynamoDb.send(
        new UpdateItemCommand({
          TableName: users(),
          Key: { user_id: { S: 'grows' } },
          UpdateExpression: 'SET more = :more',
          ExpressionAttributeValues: { ':more': { S: 'y'.repeat(150 * 1024) } },
        }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('refuses a partition key over 2,048 bytes and a sort key over 1,024 bytes', async () => {
    await expect(put(users(), { user_id: { S: 'u'.repeat(2049) } })).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringMatching(/hashkey has exceeded the maximum size limit of ?2048 bytes/),
    });
    await expect(put(users(), { user_id: { S: 'u'.repeat(2048) } })).resolves.toBeDefined();
    await expect(put(ledger(), { pk: { S: 'p' }, sk: { S: 's'.repeat(1025) } })).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringMatching(/range keys has exceeded the size limit of 1024 bytes/),
    });
    await expect(put(ledger(), { pk: { S: 'p' }, sk: { S: 's'.repeat(1024) } })).resolves.toBeDefined();
  });

  it('refuses BatchGetItem over 100 keys and BatchWriteItem over 25 requests', async () => {
    const keys = (count: number) =>
      Array.from({ length: count }, (_, index) => ({ user_id: { S: `k${index}` } }));
    await expect(
      testStack().dynamoDb.send(
        new BatchGetItemCommand({ RequestItems: { [users()]: { Keys: keys(101) } } }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(
      testStack().dynamoDb.send(
        new BatchGetItemCommand({ RequestItems: { [users()]: { Keys: keys(100) } } }),
      ),
    ).resolves.toBeDefined();
    const writes = (count: number) => keys(count).map((Item) => ({ PutRequest: { Item } }));
    await expect(
      testStack().dynamoDb.send(new BatchWriteItemCommand({ RequestItems: { [users()]: writes(26) } })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(
      testStack().dynamoDb.send(new BatchWriteItemCommand({ RequestItems: { [users()]: writes(25) } })),
    ).resolves.toBeDefined();
  });
});
