import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';

/**
 * One training run at a time: a lock item in the ledger table, taken with a
 * conditional put and released by its owner. A run that dies without
 * releasing it blocks the next ones only until `expires_at` (the run's maximum
 * duration plus a margin); DynamoDB's TTL deletes it later, but the condition
 * already treats an expired lock as free.
 */
const LOCK_KEY = { pk: { S: 'training' }, sk: { S: 'run-lock' } };

export class TrainingRunInProgress extends Error {
  constructor(
    readonly holder: string,
    readonly startedAt: string,
    readonly expiresAt: Date,
  ) {
    super(
      `another training run (${holder}, started ${startedAt}) holds the run lock until ${expiresAt.toISOString()}; this run does not start`,
    );
    this.name = 'TrainingRunInProgress';
  }
}

export interface RunLock {
  readonly runId: string;
  /** Gives the lock up (only if this run still holds it). */
  release(): Promise<void>;
}

export async function acquireRunLock(
  dynamoDb: DynamoDBClient,
  table: string,
  runId: string,
  options: { now: Date; holdSeconds: number },
): Promise<RunLock> {
  const nowSeconds = Math.floor(options.now.getTime() / 1000);
  try {
    await dynamoDb.send(
      new PutItemCommand({
        TableName: table,
        Item: {
          ...LOCK_KEY,
          run_id: { S: runId },
          started_at: { S: options.now.toISOString() },
          expires_at: { N: String(nowSeconds + options.holdSeconds) },
        },
        ConditionExpression: 'attribute_not_exists(pk) OR expires_at < :now',
        ExpressionAttributeValues: { ':now': { N: String(nowSeconds) } },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const held = await dynamoDb.send(
      new GetItemCommand({ TableName: table, Key: LOCK_KEY, ConsistentRead: true }),
    );
    throw new TrainingRunInProgress(
      held.Item?.run_id?.S ?? 'unknown run',
      held.Item?.started_at?.S ?? 'at an unknown time',
      new Date(Number(held.Item?.expires_at?.N ?? nowSeconds) * 1000),
    );
  }
  return {
    runId,
    release: async () => {
      try {
        await dynamoDb.send(
          new DeleteItemCommand({
            TableName: table,
            Key: LOCK_KEY,
            ConditionExpression: 'run_id = :run',
            ExpressionAttributeValues: { ':run': { S: runId } },
          }),
        );
      } catch (error) {
        // Expired and taken over by a later run: that run's lock is not ours to release.
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    },
  };
}
