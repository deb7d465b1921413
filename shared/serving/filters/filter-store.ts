import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';

/**
 * Named filters in DynamoDB, one item per filter (`filter_name`). The filters table is small (at most
 * MAX_FILTERS items), so listing is a paginated Scan. Operations are separate functions so each Lambda
 * bundle carries only the DynamoDB commands its role is granted.
 */
export interface FilterTable {
  readonly client: DynamoDBClient;
  readonly table: string;
}

export interface StoredFilter {
  readonly name: string;
  readonly expression: string;
  readonly createdAt: string;
}

/** How many filters a deployment keeps (Personalize's default quota is 10 per dataset group). */
export const MAX_FILTERS = 100;

export class FilterConflict extends Error {
  constructor(name: string) {
    super(`filter '${name}' already exists with a different expression; delete it first to change it`);
    this.name = 'FilterConflict';
  }
}

export class TooManyFilters extends Error {
  constructor() {
    super(`a deployment keeps at most ${MAX_FILTERS} filters; delete one first`);
    this.name = 'TooManyFilters';
  }
}

function decode(item: Record<string, AttributeValue>): StoredFilter {
  return {
    name: item.filter_name?.S ?? '',
    expression: item.expression?.S ?? '',
    createdAt: item.created_at?.S ?? '',
  };
}

export async function getFilter(
  { client, table }: FilterTable,
  name: string,
): Promise<StoredFilter | undefined> {
  const result = await client.send(
    new GetItemCommand({ TableName: table, Key: { filter_name: { S: name } }, ConsistentRead: true }),
  );
  return result.Item ? decode(result.Item) : undefined;
}

export async function listFilters({ client, table }: FilterTable): Promise<StoredFilter[]> {
  const filters: StoredFilter[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: table,
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of page.Items ?? []) filters.push(decode(item));
    start = page.LastEvaluatedKey;
  } while (start);
  return filters.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Creates the filter. Re-sending the same expression (a client retry) returns the stored filter unchanged;
 * another expression under the same name is a conflict: serving caches filters by name, so a filter is
 * changed by deleting it and creating it again.
 */
export async function createFilter(
  filters: FilterTable,
  name: string,
  expression: string,
  now: Date,
): Promise<{ created: boolean; filter: StoredFilter }> {
  const existing = await getFilter(filters, name);
  if (existing) {
    if (existing.expression !== expression) throw new FilterConflict(name);
    return { created: false, filter: existing };
  }
  if ((await listFilters(filters)).length >= MAX_FILTERS) throw new TooManyFilters();
  const filter: StoredFilter = { name, expression, createdAt: now.toISOString() };
  try {
    await filters.client.send(
      new PutItemCommand({
        TableName: filters.table,
        Item: {
          filter_name: { S: name },
          expression: { S: expression },
          created_at: { S: filter.createdAt },
        },
        ConditionExpression: 'attribute_not_exists(filter_name)',
      }),
    );
    return { created: true, filter };
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    // A concurrent create of the same name won: the same expression is that retry, another a conflict.
    const winner = await getFilter(filters, name);
    if (winner?.expression !== expression) throw new FilterConflict(name);
    return { created: false, filter: winner };
  }
}

/** Deletes the filter; returns what was deleted, or undefined when it did not exist. */
export async function deleteFilter(
  { client, table }: FilterTable,
  name: string,
): Promise<StoredFilter | undefined> {
  const result = await client.send(
    new DeleteItemCommand({ TableName: table, Key: { filter_name: { S: name } }, ReturnValues: 'ALL_OLD' }),
  );
  return result.Attributes ? decode(result.Attributes) : undefined;
}
