import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { resendUntilProcessed, retryOnConflict } from '../../../shared/aws/retry';

describe('resendUntilProcessed', () => {
  it('resends what is left until nothing is, through the client’s retry strategy', async () => {
    const client = new DynamoDBClient({ region: 'us-east-1', maxAttempts: 3 });
    const left = [2, 1, 0];
    let calls = 0;
    await resendUntilProcessed(client, 'BatchWriteItem', async () => left[calls++] as number);
    expect(calls).toBe(3);
  });

  it('stops at the client’s attempt limit and names the operation and what is left', async () => {
    const client = new DynamoDBClient({ region: 'us-east-1', maxAttempts: 2 });
    let calls = 0;
    await expect(
      resendUntilProcessed(client, 'BatchGetItem', async () => {
        calls++;
        return 4;
      }),
    ).rejects.toThrow('BatchGetItem still left 4 request(s) unprocessed after 2 attempts');
    expect(calls).toBe(2);
  });
});

describe('retryOnConflict', () => {
  it('tries again after a lost race and stops once written', async () => {
    const outcomes = [false, false, true];
    let calls = 0;
    await retryOnConflict('updating x', async () => outcomes[calls++] as boolean);
    expect(calls).toBe(3);
  });

  it('gives up after the attempt limit, saying what it was doing', async () => {
    let calls = 0;
    await expect(
      retryOnConflict(
        'updating key k',
        async () => {
          calls++;
          return false;
        },
        3,
      ),
    ).rejects.toThrow('gave up updating key k after 3 concurrent-write conflicts');
    expect(calls).toBe(3);
  });
});
