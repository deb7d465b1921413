import { acquireRunLock, TrainingRunInProgress } from '../../../shared/training/run-lock';
import { useTestStack } from '../../support/local-stack';

describe('the training run lock (ledger table, under the training role)', () => {
  const testStack = useTestStack();

  const take = (runId: string, at: string, holdSeconds = 600) =>
    acquireRunLock(testStack().clientsFor('train').dynamoDb, testStack().names.tables.ledger, runId, {
      now: new Date(at),
      holdSeconds,
    });

  it('refuses a second run while the first holds the lock, naming the holder', async () => {
    const first = await take('v1', '2026-01-01T03:00:00Z');
    const error = await take('v2', '2026-01-01T03:05:00Z').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TrainingRunInProgress);
    expect((error as TrainingRunInProgress).message).toBe(
      'another training run (v1, started 2026-01-01T03:00:00.000Z) holds the run lock until 2026-01-01T03:10:00.000Z; this run does not start',
    );
    await first.release();
    const next = await take('v3', '2026-01-01T03:06:00Z');
    await next.release();
  });

  it('lets a run take over a lock whose holder died and whose time ran out', async () => {
    const stale = await take('stale', '2026-01-02T03:00:00Z', 60); // its run hangs past the hold time
    const next = await take('v4', '2026-01-02T03:02:00Z');
    // The stale run's late release must not free the new holder's lock.
    await stale.release();
    await expect(take('v5', '2026-01-02T03:04:00Z')).rejects.toThrow('another training run (v4');
    await next.release();
  });
});
