import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

/**
 * Builds AWS SDK clients from the SDK's standard environment variables
 * (`AWS_REGION`, `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL_DYNAMODB`, credentials).
 * Nothing here invents its own variables: pointing Mappa at the embedded local
 * stack is the same as pointing any AWS tool at an S3-compatible endpoint.
 */

/** Options that can override what the environment says (used by tests with several stacks). */
export interface ClientOverrides {
  readonly region?: string;
  readonly endpoint?: string;
  readonly credentials?: { accessKeyId: string; secretAccessKey: string };
}

/**
 * Checksum mode for a client that talks to an S3-compatible emulator. With the
 * SDK default (WHEN_SUPPORTED), streamed uploads are sent `aws-chunked` and
 * s3rver stores the chunk framing as object bytes; WHEN_REQUIRED avoids that.
 * An explicit setting in the environment still wins.
 */
function emulatorChecksumConfig(
  env: NodeJS.ProcessEnv,
): Pick<S3ClientConfig, 'requestChecksumCalculation' | 'responseChecksumValidation'> {
  return {
    ...(env.AWS_REQUEST_CHECKSUM_CALCULATION ? {} : { requestChecksumCalculation: 'WHEN_REQUIRED' }),
    ...(env.AWS_RESPONSE_CHECKSUM_VALIDATION ? {} : { responseChecksumValidation: 'WHEN_REQUIRED' }),
  };
}

/** Creates an S3 client; path-style addressing whenever an endpoint override is in effect. */
export function createS3Client(
  overrides: ClientOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
): S3Client {
  const endpoint = overrides.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const config: S3ClientConfig = {
    ...(overrides.region ? { region: overrides.region } : {}),
    ...(overrides.endpoint ? { endpoint: overrides.endpoint } : {}),
    ...(overrides.credentials ? { credentials: overrides.credentials } : {}),
    ...(endpoint ? { forcePathStyle: true, ...emulatorChecksumConfig(env) } : {}),
  };
  return new S3Client(config);
}

/**
 * Creates a DynamoDB client. Standard retry mode with 5 attempts: batch calls
 * resend their unprocessed items through the same strategy (`aws/retry.ts`),
 * and 3 attempts is too few for a batch under throttling.
 */
export function createDynamoDbClient(
  overrides: ClientOverrides = {},
  _env: NodeJS.ProcessEnv = process.env,
): DynamoDBClient {
  const config: DynamoDBClientConfig = {
    retryMode: 'standard',
    maxAttempts: 5,
    ...(overrides.region ? { region: overrides.region } : {}),
    ...(overrides.endpoint ? { endpoint: overrides.endpoint } : {}),
    ...(overrides.credentials ? { credentials: overrides.credentials } : {}),
  };
  return new DynamoDBClient(config);
}

let sharedS3: S3Client | undefined;
let sharedDynamoDb: DynamoDBClient | undefined;

/** The process-wide S3 client, built on first use and reused (one per Lambda container). */
export function s3Client(): S3Client {
  sharedS3 ??= createS3Client();
  return sharedS3;
}

/** The process-wide DynamoDB client, built on first use and reused. */
export function dynamoDbClient(): DynamoDBClient {
  sharedDynamoDb ??= createDynamoDbClient();
  return sharedDynamoDb;
}
