import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';

/**
 * Tombstones of users who asked to be forgotten, in the ledger table under one partition: ingestion drops
 * their later-arriving rows, training leaves them out, the deletion job rewrites curated data without them
 * and stamps `curatedCleanAt`. A tombstone holds the user id and what was deleted — nothing else about them.
 * Operations are separate functions so each bundle carries only the commands its role is granted.
 */
const PARTITION = 'forgotten-users';

export interface LedgerTable {
  readonly client: DynamoDBClient;
  readonly table: string;
}

/** What was deleted at request time. */
export interface DeletedNow {
  /** The user's feature record (RFM, counts, recent history) existed and was deleted. */
  readonly features: boolean;
  readonly recentInteractions: number;
  /** Precomputed vectors, propensity scores and seen-sets (one per model version). */
  readonly vectors: number;
  readonly experimentAssignments: number;
}

export interface Tombstone {
  readonly userId: string;
  readonly forgottenAt: string;
  readonly deleted?: DeletedNow;
  /** When the deletion job had rewritten curated data without the user. */
  readonly curatedCleanAt?: string;
}

function decode(item: Record<string, AttributeValue>): Tombstone {
  return {
    userId: item.sk?.S ?? '',
    forgottenAt: item.forgotten_at?.S ?? '',
    ...(item.deleted?.S ? { deleted: JSON.parse(item.deleted.S) as DeletedNow } : {}),
    ...(item.curated_clean_at?.S ? { curatedCleanAt: item.curated_clean_at.S } : {}),
  };
}

/** Writes the tombstone unless one exists; returns the stored one (a repeated request keeps its first time). */
export async function putTombstone(ledger: LedgerTable, userId: string, now: Date): Promise<Tombstone> {
  try {
    await ledger.client.send(
      new PutItemCommand({
        TableName: ledger.table,
        Item: { pk: { S: PARTITION }, sk: { S: userId }, forgotten_at: { S: now.toISOString() } },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    return { userId, forgottenAt: now.toISOString() };
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const stored = await ledger.client.send(
      new GetItemCommand({
        TableName: ledger.table,
        Key: { pk: { S: PARTITION }, sk: { S: userId } },
        ConsistentRead: true,
      }),
    );
    return stored.Item ? decode(stored.Item) : { userId, forgottenAt: now.toISOString() };
  }
}

/** Records what a (repeated) deletion removed, adding to what earlier attempts removed. */
export async function recordDeleted(ledger: LedgerTable, userId: string, deleted: DeletedNow): Promise<void> {
  await ledger.client.send(
    new UpdateItemCommand({
      TableName: ledger.table,
      Key: { pk: { S: PARTITION }, sk: { S: userId } },
      UpdateExpression: 'SET deleted = :deleted',
      ExpressionAttributeValues: { ':deleted': { S: JSON.stringify(deleted) } },
    }),
  );
}

/** Every tombstone (a Query of one partition, paginated). */
export async function listTombstones(ledger: LedgerTable): Promise<Tombstone[]> {
  const tombstones: Tombstone[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await ledger.client.send(
      new QueryCommand({
        TableName: ledger.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: PARTITION } },
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of page.Items ?? []) tombstones.push(decode(item));
    start = page.LastEvaluatedKey;
  } while (start);
  return tombstones;
}

/** The deletion job finished rewriting curated data without these users. */
export async function markCuratedClean(
  ledger: LedgerTable,
  userIds: readonly string[],
  at: Date,
): Promise<void> {
  for (const userId of userIds) {
    await ledger.client.send(
      new UpdateItemCommand({
        TableName: ledger.table,
        Key: { pk: { S: PARTITION }, sk: { S: userId } },
        UpdateExpression: 'SET curated_clean_at = :at',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':at': { S: at.toISOString() } },
      }),
    );
  }
}
