import { FirehoseClient, type FirehoseClientConfig } from '@aws-sdk/client-firehose';
import type { ClientOverrides } from './clients';

/**
 * The Firehose client, in its own module so only the events function (and local mode) loads the Firehose
 * SDK at cold start. `AWS_ENDPOINT_URL_FIREHOSE` points it at the local double. Standard retry mode:
 * Firehose answers `ServiceUnavailableException` when a stream's throughput quota is exceeded.
 */
export function createFirehoseClient(overrides: ClientOverrides = {}): FirehoseClient {
  const config: FirehoseClientConfig = {
    retryMode: 'standard',
    maxAttempts: 5,
    ...(overrides.region ? { region: overrides.region } : {}),
    ...(overrides.endpoint ? { endpoint: overrides.endpoint } : {}),
    ...(overrides.credentials ? { credentials: overrides.credentials } : {}),
  };
  return new FirehoseClient(config);
}

let sharedFirehose: FirehoseClient | undefined;

/** The process-wide Firehose client (the events function's), built on first use. */
export function firehoseClient(): FirehoseClient {
  sharedFirehose ??= createFirehoseClient();
  return sharedFirehose;
}
