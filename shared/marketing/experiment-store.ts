import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { randomInt } from 'node:crypto';
import {
  DEFAULT_ATTRIBUTION_WINDOW_DAYS,
  type ExperimentDefinition,
  NO_TOTALS,
  type UserOutcome,
  type VariantTotals,
} from './experiments';

/**
 * Experiments in DynamoDB, one partition per experiment: the definition
 * (`entry = definition`), one item per exposed user (`entry = user#<id>`)
 * with its variant and counters updated by atomic `ADD`, and per variant
 * VARIANT_SHARDS pre-aggregated counter items (`entry = variant#<name>#<shard>`)
 * that every user update also adjusts — a report reads those, O(variants),
 * never the users. A `#registry` partition lists running experiments.
 */
const REGISTRY = '#registry';
const DEFINITION = 'definition';
const userEntry = (userId: string) => `user#${userId}`;
/** Counter items per variant: writes spread over them, so a busy variant is not one hot item. */
export const VARIANT_SHARDS = 8;
const VARIANT_PREFIX = 'variant#';

const TOTAL_COLUMNS: Record<keyof VariantTotals, string> = {
  users: 'users',
  exposures: 'exposures',
  clicks: 'clicks',
  clickers: 'clickers',
  converters: 'converters',
  revenue: 'revenue',
  revenueSquares: 'revenue_sq',
};

/** Adds a change to one (random) shard of the variant's counters. */
async function addToVariant(
  { client, table }: ExperimentTable,
  experimentId: string,
  variant: string,
  change: Partial<VariantTotals>,
): Promise<void> {
  const entries = Object.entries(change).filter(([, value]) => value !== undefined && value !== 0);
  if (entries.length === 0) return;
  await client.send(
    new UpdateItemCommand({
      TableName: table,
      Key: {
        experiment_id: { S: experimentId },
        entry: { S: `${VARIANT_PREFIX}${variant}#${randomInt(VARIANT_SHARDS)}` },
      },
      UpdateExpression: `SET variant = :variant ADD ${entries.map((_, index) => `#c${index} :v${index}`).join(', ')}`,
      ExpressionAttributeNames: Object.fromEntries(
        entries.map(([key], index) => [`#c${index}`, TOTAL_COLUMNS[key as keyof VariantTotals]]),
      ),
      ExpressionAttributeValues: {
        ':variant': { S: variant },
        ...Object.fromEntries(entries.map(([, value], index) => [`:v${index}`, { N: String(value) }])),
      },
    }),
  );
}

export class ExperimentConflict extends Error {
  constructor(experimentId: string) {
    super(`experiment '${experimentId}' already exists with a different definition`);
    this.name = 'ExperimentConflict';
  }
}

/**
 * The experiments table and the client to reach it. Operations are separate
 * functions, not methods of one class, so each Lambda bundle carries only the
 * DynamoDB commands its role is granted (the bundle check in the tests).
 */
export interface ExperimentTable {
  readonly client: DynamoDBClient;
  readonly table: string;
}

/**
 * Creates the experiment. Re-sending the same definition (a client retry)
 * returns it unchanged; a different definition under the same id is a conflict.
 */
export async function createExperiment(
  { client, table }: ExperimentTable,
  definition: ExperimentDefinition,
  now: Date,
): Promise<{ created: boolean; createdAt: string }> {
  const body = JSON.stringify(definition);
  const item = (entryKey: { experiment_id: string; entry: string }) => ({
    experiment_id: { S: entryKey.experiment_id },
    entry: { S: entryKey.entry },
    definition: { S: body },
    created_at: { S: now.toISOString() },
  });
  try {
    // dynalite has no transactions; a conditional put of the definition is the commit point,
    // and the registry entry is re-written (idempotently) on retries.
    await client.send(
      new PutItemCommand({
        TableName: table,
        Item: item({ experiment_id: definition.experimentId, entry: DEFINITION }),
        ConditionExpression: 'attribute_not_exists(experiment_id)',
      }),
    );
    await register({ client, table }, definition, now);
    return { created: true, createdAt: now.toISOString() };
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const existing = await client.send(
      new GetItemCommand({
        TableName: table,
        Key: { experiment_id: { S: definition.experimentId }, entry: { S: DEFINITION } },
        ConsistentRead: true,
      }),
    );
    if (existing.Item?.definition?.S !== body) throw new ExperimentConflict(definition.experimentId);
    await register(
      { client, table },
      definition,
      new Date(existing.Item?.created_at?.S ?? now.toISOString()),
    );
    return { created: false, createdAt: existing.Item?.created_at?.S ?? now.toISOString() };
  }
}

async function register(
  { client, table }: ExperimentTable,
  definition: ExperimentDefinition,
  createdAt: Date,
): Promise<void> {
  await client.send(
    new PutItemCommand({
      TableName: table,
      Item: {
        experiment_id: { S: REGISTRY },
        entry: { S: definition.experimentId },
        definition: { S: JSON.stringify(definition) },
        created_at: { S: createdAt.toISOString() },
      },
    }),
  );
}

/** One experiment's definition. */
export async function getExperiment(
  { client, table }: ExperimentTable,
  experimentId: string,
): Promise<ExperimentDefinition | undefined> {
  const response = await client.send(
    new GetItemCommand({
      TableName: table,
      Key: { experiment_id: { S: experimentId }, entry: { S: DEFINITION } },
    }),
  );
  const text = response.Item?.definition?.S;
  return text ? (JSON.parse(text) as ExperimentDefinition) : undefined;
}

/** Running experiments (the registry). */
export async function runningExperiments(experiments: ExperimentTable): Promise<ExperimentDefinition[]> {
  return (await registeredExperiments(experiments)).map((entry) => entry.definition);
}

/** Running experiments with the time each was created (when its assignments began). */
export async function registeredExperiments(
  experiments: ExperimentTable,
): Promise<{ definition: ExperimentDefinition; createdAt: Date }[]> {
  const items = await queryAll(experiments, 'experiment_id = :registry', { ':registry': { S: REGISTRY } });
  return items.flatMap((item) =>
    item.definition?.S
      ? [
          {
            definition: JSON.parse(item.definition.S) as ExperimentDefinition,
            createdAt: new Date(item.created_at?.S ?? 0),
          },
        ]
      : [],
  );
}

/** Every exposed user of an experiment: their variant and outcomes (what an uplift model learns from). */
export async function experimentAssignments(
  experiments: ExperimentTable,
  experimentId: string,
): Promise<(UserOutcome & { userId: string })[]> {
  const items = await queryAll(experiments, 'experiment_id = :id AND begins_with(entry, :users)', {
    ':id': { S: experimentId },
    ':users': { S: 'user#' },
  });
  return items.map((item) => ({
    userId: (item.entry?.S ?? '').slice('user#'.length),
    variant: item.variant?.S ?? '',
    exposures: Number(item.exposures?.N ?? 0),
    clicks: Number(item.clicks?.N ?? 0),
    conversions: Number(item.conversions?.N ?? 0),
    revenue: Number(item.revenue?.N ?? 0),
  }));
}

/** Every item of a key condition, following LastEvaluatedKey through all pages. */
async function queryAll(
  { client, table }: ExperimentTable,
  keyCondition: string,
  values: Record<string, AttributeValue>,
): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: keyCondition,
        ExpressionAttributeValues: values,
        ExclusiveStartKey: start,
      }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/**
 * Counts one exposure; the first one fixes the user's variant. The user's item is updated first and
 * reports whether this was their first exposure; the variant's counters follow (a crash between the two
 * leaves the counters one exposure short — `experimentOutcomes` recomputes them from the users).
 */
export async function recordExposure(
  experiments: ExperimentTable,
  experimentId: string,
  userId: string,
  variant: string,
  /** The first exposure opens the user's attribution window: events count until `at` + the window. */
  window: { at: Date; days: number } = { at: new Date(), days: DEFAULT_ATTRIBUTION_WINDOW_DAYS },
): Promise<void> {
  const result = await experiments.client.send(
    new UpdateItemCommand({
      TableName: experiments.table,
      Key: { experiment_id: { S: experimentId }, entry: { S: userEntry(userId) } },
      UpdateExpression:
        'SET variant = if_not_exists(variant, :variant), exposed_at = if_not_exists(exposed_at, :at), ' +
        'attribution_until = if_not_exists(attribution_until, :until) ADD exposures :one',
      ExpressionAttributeValues: {
        ':variant': { S: variant },
        ':one': { N: '1' },
        ...windowValues(window.at, window.days),
      },
      ReturnValues: 'ALL_NEW',
    }),
  );
  const assigned = result.Attributes?.variant?.S ?? variant;
  const first = Number(result.Attributes?.exposures?.N ?? 1) === 1;
  await addToVariant(experiments, experimentId, assigned, { exposures: 1, users: first ? 1 : 0 });
}

/** The exposure time and the end of the attribution window, as ISO strings (they compare as text). */
function windowValues(at: Date, days: number): Record<string, AttributeValue> {
  return {
    ':at': { S: at.toISOString() },
    ':until': { S: new Date(at.getTime() + days * 86_400_000).toISOString() },
  };
}

export type ImportOutcome = 'imported' | 'already_assigned' | 'conflict';

/**
 * Assigns a user to an arm from outside (a campaign already sent): the assignment counts as one exposure at
 * `exposedAt`, once — importing the same file again changes nothing ('already_assigned'), and a user Mappa
 * (or an earlier import) put in another arm keeps that arm ('conflict', with the arm they are in).
 */
export async function importAssignment(
  experiments: ExperimentTable,
  experimentId: string,
  userId: string,
  variant: string,
  exposedAt: Date,
  windowDays: number = DEFAULT_ATTRIBUTION_WINDOW_DAYS,
): Promise<{ outcome: ImportOutcome; assigned: string }> {
  const key = { experiment_id: { S: experimentId }, entry: { S: userEntry(userId) } };
  try {
    await experiments.client.send(
      new UpdateItemCommand({
        TableName: experiments.table,
        Key: key,
        UpdateExpression:
          'SET variant = :variant, exposed_at = :at, attribution_until = :until ADD exposures :one',
        ConditionExpression: 'attribute_not_exists(variant)',
        ExpressionAttributeValues: {
          ':variant': { S: variant },
          ':one': { N: '1' },
          ...windowValues(exposedAt, windowDays),
        },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const existing = await experiments.client.send(
      new GetItemCommand({ TableName: experiments.table, Key: key, ConsistentRead: true }),
    );
    const assigned = existing.Item?.variant?.S ?? '';
    return { outcome: assigned === variant ? 'already_assigned' : 'conflict', assigned };
  }
  await addToVariant(experiments, experimentId, variant, { exposures: 1, users: 1 });
  return { outcome: 'imported', assigned: variant };
}

/**
 * Adds outcomes of events at `at` for a user who was exposed, when `at` falls in the user's attribution window
 * (from the exposure to the window's end); returns false (and changes nothing) otherwise. Users exposed before
 * windows existed have none and count as before.
 */
export async function recordOutcomes(
  { client, table }: ExperimentTable,
  experimentId: string,
  userId: string,
  delta: { clicks: number; conversions: number; revenue: number },
  at: Date = new Date(),
): Promise<boolean> {
  let updated;
  try {
    updated = await client.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { experiment_id: { S: experimentId }, entry: { S: userEntry(userId) } },
        UpdateExpression: 'ADD clicks :clicks, conversions :conversions, revenue :revenue',
        ConditionExpression:
          'attribute_exists(variant) AND (attribute_not_exists(exposed_at) OR (exposed_at <= :at AND attribution_until >= :at))',
        ExpressionAttributeValues: {
          ':clicks': { N: String(delta.clicks) },
          ':conversions': { N: String(delta.conversions) },
          ':revenue': { N: String(delta.revenue) },
          ':at': { S: at.toISOString() },
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
  // The user's totals after the update give the variant's change: a first click makes a clicker, a first
  // conversion a converter, and the revenue squares move by new² − old².
  const user = updated.Attributes ?? {};
  const clicks = Number(user.clicks?.N ?? 0);
  const conversions = Number(user.conversions?.N ?? 0);
  const revenue = Number(user.revenue?.N ?? 0);
  const before = {
    clicks: clicks - delta.clicks,
    conversions: conversions - delta.conversions,
    revenue: revenue - delta.revenue,
  };
  await addToVariant({ client, table }, experimentId, user.variant?.S ?? '', {
    clicks: delta.clicks,
    clickers: before.clicks <= 0 && clicks > 0 ? 1 : 0,
    converters: before.conversions <= 0 && conversions > 0 ? 1 : 0,
    revenue: delta.revenue,
    revenueSquares: revenue ** 2 - before.revenue ** 2,
  });
  return true;
}

/** Each variant's totals: its counter shards summed (a Query of O(variants × shards) items). */
export async function variantTotals(
  experiments: ExperimentTable,
  experimentId: string,
): Promise<Map<string, VariantTotals>> {
  const items = await queryAll(experiments, 'experiment_id = :id AND begins_with(entry, :variants)', {
    ':id': { S: experimentId },
    ':variants': { S: VARIANT_PREFIX },
  });
  const totals = new Map<string, VariantTotals>();
  for (const item of items) {
    const variant = item.variant?.S ?? '';
    const sum: Record<string, number> = { ...(totals.get(variant) ?? NO_TOTALS) };
    for (const [key, column] of Object.entries(TOTAL_COLUMNS)) {
      sum[key] = (sum[key] ?? 0) + Number(item[column]?.N ?? 0);
    }
    totals.set(variant, sum as unknown as VariantTotals);
  }
  return totals;
}

/** Every exposed user's variant and outcomes. */
export async function experimentOutcomes(
  experiments: ExperimentTable,
  experimentId: string,
): Promise<UserOutcome[]> {
  return (await experimentAssignments(experiments, experimentId)).map(
    ({ userId: _userId, ...outcome }) => outcome,
  );
}

/** Deletes a user's assignment and outcomes in one experiment (forgetting the user); true if there were any. */
export async function forgetExposure(
  { client, table }: ExperimentTable,
  experimentId: string,
  userId: string,
): Promise<boolean> {
  const result = await client.send(
    new DeleteItemCommand({
      TableName: table,
      Key: { experiment_id: { S: experimentId }, entry: { S: userEntry(userId) } },
      ReturnValues: 'ALL_OLD',
    }),
  );
  const old = result.Attributes;
  if (!old) return false;
  // The variant's counters lose the user's contribution with them.
  const revenue = Number(old.revenue?.N ?? 0);
  await addToVariant({ client, table }, experimentId, old.variant?.S ?? '', {
    users: -1,
    exposures: -Number(old.exposures?.N ?? 0),
    clicks: -Number(old.clicks?.N ?? 0),
    clickers: Number(old.clicks?.N ?? 0) > 0 ? -1 : 0,
    converters: Number(old.conversions?.N ?? 0) > 0 ? -1 : 0,
    revenue: -revenue,
    revenueSquares: -(revenue ** 2),
  });
  return true;
}
