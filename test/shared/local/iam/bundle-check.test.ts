import { commandsNotAllowed, sdkCommandsInBundle } from '../../../../shared/local/iam/bundle-check';
import { defaultPolicies } from '../../../support/local-stack';

describe('the bundle check', () => {
  it('finds the SDK commands a minified bundle references, and names unknown ones', () => {
    // Prepare: what esbuild emits for external SDK modules, minified.
    const code =
      'var o=require("@aws-sdk/client-s3"),d=require("@aws-sdk/client-dynamodb");' +
      'await c.send(new o.GetObjectCommand({}));await x.send(new d.BatchGetItemCommand({}));new d.FrobnicateCommand();';
    // Act / Assess
    expect(sdkCommandsInBundle(code)).toEqual({
      known: [
        { service: 'DynamoDB', command: 'BatchGetItemCommand' },
        { service: 'S3', command: 'GetObjectCommand' },
      ],
      unknown: ['FrobnicateCommand'],
    });
  });

  it("counts lib-storage's Upload as the put and multipart commands it sends", () => {
    const code = 'var u=require("@aws-sdk/lib-storage");new u.Upload({});';
    expect(sdkCommandsInBundle(code).known.map((entry) => entry.command)).toEqual([
      'AbortMultipartUploadCommand',
      'CompleteMultipartUploadCommand',
      'CreateMultipartUploadCommand',
      'PutObjectCommand',
      'UploadPartCommand',
    ]);
  });

  it('reports a command whose action the role lacks on every resource', async () => {
    const policies = await defaultPolicies();
    const commands = [
      { service: 'S3', command: 'GetObjectCommand' },
      { service: 'DynamoDB', command: 'PutItemCommand' },
      { service: 'S3', command: 'ListObjectsV2Command' },
    ] as const;
    expect(await commandsNotAllowed(policies, 'api-model', commands, 'mappa-data')).toEqual([
      { command: 'PutItemCommand', action: 'dynamodb:PutItem' },
    ]);
    expect(await commandsNotAllowed(policies, 'train', commands.slice(2), 'mappa-data')).toEqual([]);
    expect(await commandsNotAllowed(policies, 'api-events', commands.slice(2), 'mappa-data')).toEqual([
      { command: 'ListObjectsV2Command', action: 's3:ListBucket' },
    ]);
    const putRecord = [{ service: 'Firehose', command: 'PutRecordCommand' }] as const;
    expect(await commandsNotAllowed(policies, 'api-events', putRecord, 'mappa-data')).toEqual([]);
    expect(await commandsNotAllowed(policies, 'api-model', putRecord, 'mappa-data')).toEqual([
      { command: 'PutRecordCommand', action: 'firehose:PutRecord' },
    ]);
  });
});
