import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/**
 * Retries that the SDK's own retry strategy cannot see. A batch call that
 * leaves items unprocessed succeeded as far as the SDK knows; DynamoDB asks
 * callers to resend the rest with backoff, as after throttling. This asks the
 * client's configured strategy (standard mode: its backoff with jitter, its
 * attempt limit and its retry quota, shared with the client's own retries)
 * for each further attempt, so such retries follow the same rules as every
 * other retry the client makes.
 */
export async function resendUntilProcessed(
  client: Pick<DynamoDBClient, 'config'>,
  operation: string,
  /** Sends what is still pending; resolves to how many requests remain unprocessed. */
  send: () => Promise<number>,
): Promise<void> {
  const strategy = await client.config.retryStrategy();
  if (!('acquireInitialRetryToken' in strategy))
    throw new Error('the DynamoDB client is configured with a legacy retry strategy');
  let token = await strategy.acquireInitialRetryToken(`dynamodb:${operation}`);
  for (;;) {
    const remaining = await send();
    if (remaining === 0) {
      strategy.recordSuccess(token);
      return;
    }
    try {
      // Waits the strategy's backoff (throttling class) before handing out the next token.
      token = await strategy.refreshRetryTokenForRetry(token, { errorType: 'THROTTLING' });
    } catch {
      throw new Error(
        `${operation} still left ${remaining} request(s) unprocessed after ${token.getRetryCount() + 1} attempts`,
      );
    }
  }
}

/**
 * Optimistic concurrency: `attempt` reads, decides and writes conditionally,
 * resolving `true` once written (or nothing was to be written) and `false`
 * when another writer won the race; it is told which try it is (1-based). A conflict is not a fault of the service,
 * so it does not draw on the SDK's retry quota; the attempts are spaced with
 * full jitter so racing writers spread out.
 */
export async function retryOnConflict(
  what: string,
  attempt: (tries: number) => Promise<boolean>,
  maxAttempts = 12,
): Promise<void> {
  for (let tries = 1; tries <= maxAttempts; tries++) {
    if (await attempt(tries)) return;
    if (tries < maxAttempts)
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(1_000, 10 * 2 ** tries)));
  }
  throw new Error(`gave up ${what} after ${maxAttempts} concurrent-write conflicts`);
}
