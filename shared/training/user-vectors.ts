import { BatchWriteItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as tf from '@tensorflow/tfjs';
import { PROPENSITY_TARGETS } from '../contracts/artifacts';
import type { InteractionLog } from '../ml/interactions';
import { fillContext, type TwoTowerModel } from '../ml/two-tower';
import type { PropensityScores } from './propensity-job';
import { resendUntilProcessed } from '../aws/retry';

/** Each user's vector from the trained user tower, and the user-vectors table items serving reads. */
export function computeUserVectors(model: TwoTowerModel, log: InteractionLog): Float32Array {
  const n = model.shape.sequenceLength;
  const d = model.shape.embeddingDim;
  const out = new Float32Array(log.userIds.length * d);
  const batchUsers = 512;
  for (let start = 0; start < log.userIds.length; start += batchUsers) {
    const end = Math.min(log.userIds.length, start + batchUsers);
    const context = new Int32Array((end - start) * n);
    for (let user = start; user < end; user++) {
      const history = log.sequences[user] as Int32Array;
      fillContext(history, history.length, n, context, (user - start) * n);
    }
    const vectors = tf.tidy(() =>
      model.userVectors(
        tf.tensor2d(context, [end - start, n], 'int32'),
        tf.range(start + 1, end + 1, 1, 'int32') as tf.Tensor1D,
      ),
    );
    out.set(vectors.dataSync() as Float32Array, start * d);
    vectors.dispose();
  }
  return out;
}

/** Writes each user's vector (with a trailing 1 for the item bias), seen-set and segment to DynamoDB, keyed by model version. */
export async function writeUserVectors(
  deps: { readonly dynamoDb: DynamoDBClient; readonly userVectorsTable: string },
  vectors: Float32Array,
  d: number,
  segments: Int32Array,
  propensity: PropensityScores,
  log: InteractionLog,
  seen: (user: number) => Uint8Array,
  version: string,
  now: Date,
  ttlDays: number,
  /** Per experiment, every user's predicted uplift and decile (aligned with the log's users). */
  uplift: ReadonlyMap<string, { uplift: Float64Array; decile: Int8Array }> = new Map(),
): Promise<void> {
  const expires = Math.floor(now.getTime() / 1000) + ttlDays * 86_400;
  const requests = log.userIds.map((userId, user) => {
    // Append 1 so a dot product with (item vector, bias) adds the bias.
    const vector = new Float32Array(d + 1);
    vector.set(vectors.subarray(user * d, (user + 1) * d));
    vector[d] = 1;
    return {
      PutRequest: {
        Item: {
          user_id: { S: userId },
          model_version: { S: version },
          vector: { B: new Uint8Array(vector.buffer) },
          seen: { B: seen(user) },
          segment: { N: String(segments[user] ?? 0) },
          ...Object.fromEntries(
            PROPENSITY_TARGETS.flatMap((target) => {
              const scored = propensity.scores[target];
              if (!scored) return [];
              return [
                [`propensity_${target}`, { N: (scored.probability[user] as number).toFixed(6) }],
                [`propensity_${target}_decile`, { N: String(scored.decile[user]) }],
              ];
            }),
          ),
          ...(uplift.size > 0
            ? {
                uplift: {
                  M: Object.fromEntries(
                    [...uplift].map(([experimentId, scored]) => [
                      experimentId,
                      {
                        M: {
                          value: { N: (scored.uplift[user] as number).toFixed(6) },
                          decile: { N: String(scored.decile[user]) },
                        },
                      },
                    ]),
                  ),
                },
              }
            : {}),
          expires_at: { N: String(expires) },
        },
      },
    };
  });
  for (let offset = 0; offset < requests.length; offset += 25) {
    let pending = requests.slice(offset, offset + 25);
    await resendUntilProcessed(deps.dynamoDb, 'BatchWriteItem', async () => {
      const response = await deps.dynamoDb.send(
        new BatchWriteItemCommand({ RequestItems: { [deps.userVectorsTable]: pending } }),
      );
      pending = (response.UnprocessedItems?.[deps.userVectorsTable] ?? []) as typeof pending;
      return pending.length;
    });
  }
}
