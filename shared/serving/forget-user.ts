import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { forgetExposure, runningExperiments } from '../marketing/experiment-store';
import {
  type DeletedNow,
  type LedgerTable,
  putTombstone,
  recordDeleted,
} from '../feature-store/forgotten-users';
import { decodeRecent } from './user-state';

/**
 * Forgetting a user (`DELETE /v1/users/{userId}`, `mappa forget`): the tombstone first, so rows arriving
 * while this runs are already dropped by ingestion; then the user's feature record with its recent
 * history, every precomputed vector (and the propensity scores and seen-set stored with it), and every
 * experiment assignment. Safe to repeat: each step deletes what is still there. Curated data is rewritten
 * by the deletion job (`purgeForgottenUsers`), which stamps the tombstone when it is done.
 */
export interface ForgetTables {
  readonly users: string;
  readonly userVectors: string;
  readonly experiments: string;
  readonly ledger: string;
}

export interface ForgetReport {
  readonly userId: string;
  readonly forgottenAt: string;
  readonly deleted: DeletedNow;
  readonly curatedData:
    { readonly clean: true; readonly cleanAt: string } | { readonly clean: false; readonly note: string };
}

export const CURATED_PENDING_NOTE =
  'curated data still holds the user’s past rows until the deletion job rewrites it (each training run, or `mappa forget`); training leaves them out meanwhile';

async function deleteVectors(client: DynamoDBClient, table: string, userId: string): Promise<number> {
  let deleted = 0;
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'user_id = :user',
        ExpressionAttributeValues: { ':user': { S: userId } },
        ProjectionExpression: 'user_id, model_version',
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const key of page.Items ?? []) {
      await client.send(new DeleteItemCommand({ TableName: table, Key: key }));
      deleted++;
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return deleted;
}

export async function forgetUser(
  client: DynamoDBClient,
  tables: ForgetTables,
  userId: string,
  now: Date,
): Promise<ForgetReport> {
  const ledger: LedgerTable = { client, table: tables.ledger };
  const tombstone = await putTombstone(ledger, userId, now);
  const features = await client.send(
    new DeleteItemCommand({
      TableName: tables.users,
      Key: { user_id: { S: userId } },
      ReturnValues: 'ALL_OLD',
    }),
  );
  const vectors = await deleteVectors(client, tables.userVectors, userId);
  const experiments = { client, table: tables.experiments };
  let experimentAssignments = 0;
  for (const experiment of await runningExperiments(experiments)) {
    if (await forgetExposure(experiments, experiment.experimentId, userId)) experimentAssignments++;
  }
  const now_: DeletedNow = {
    features: features.Attributes !== undefined,
    recentInteractions: decodeRecent(features.Attributes?.recent).length,
    vectors,
    experimentAssignments,
  };
  // A repeated request reports everything deleted for the user, not only its own (empty) share.
  const earlier = tombstone.deleted;
  const deleted: DeletedNow = earlier
    ? {
        features: earlier.features || now_.features,
        recentInteractions: earlier.recentInteractions + now_.recentInteractions,
        vectors: earlier.vectors + now_.vectors,
        experimentAssignments: earlier.experimentAssignments + now_.experimentAssignments,
      }
    : now_;
  await recordDeleted(ledger, userId, deleted);
  return {
    userId,
    forgottenAt: tombstone.forgottenAt,
    deleted,
    curatedData: tombstone.curatedCleanAt
      ? { clean: true, cleanAt: tombstone.curatedCleanAt }
      : { clean: false, note: CURATED_PENDING_NOTE },
  };
}
