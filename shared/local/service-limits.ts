import { S3ServiceException } from '@aws-sdk/client-s3';

/**
 * Limits AWS enforces that the emulators do not, applied to every local
 * client (deployables' and the operator's alike, as AWS applies them to
 * everyone). dynalite already enforces DynamoDB's item, key and batch limits
 * (test/shared/local/service-limits.test.ts pins that); s3rver accepts keys
 * of any length, S3 refuses keys over 1,024 UTF-8 bytes.
 */
export const S3_MAX_KEY_BYTES = 1024;

interface S3Like {
  readonly middlewareStack: {
    add(middleware: unknown, options: { step: 'initialize'; name: string; priority: 'high' }): void;
  };
}

export function enforceS3Limits(client: S3Like): void {
  const middleware =
    (next: (args: { input: Record<string, unknown> }) => Promise<unknown>) =>
    async (args: { input: Record<string, unknown> }) => {
      const key = args.input.Key;
      if (typeof key === 'string' && Buffer.byteLength(key, 'utf8') > S3_MAX_KEY_BYTES) {
        throw new S3ServiceException({
          name: 'KeyTooLongError',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
          message: 'Your key is too long',
        });
      }
      return next(args);
    };
  client.middlewareStack.add(middleware, { step: 'initialize', name: 'mappaS3Limits', priority: 'high' });
}
