import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { PutRecordCommand } from '@aws-sdk/client-firehose';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { LocalAccount } from '../../../../shared/local/local-account';
import {
  IamUsageRecorder,
  PolicyEvaluator,
  UnmappedCommandError,
} from '../../../../shared/local/iam/enforcement';
import { LOCAL_ACCOUNT_ID } from '../../../../shared/local/iam/account-policies';
import type { Deployable } from '../../../../shared/resources/deployables';
import { defaultPolicies, useTestStack } from '../../../support/local-stack';

const table = (name: string) => `arn:aws:dynamodb:us-east-1:${LOCAL_ACCOUNT_ID}:table/mappa-${name}`;
const object = (key: string) => `arn:aws:s3:::mappa-data/${key}`;

describe('the local IAM double over the synthesized roles', () => {
  let evaluator: PolicyEvaluator;
  beforeAll(async () => {
    evaluator = new PolicyEvaluator(await defaultPolicies());
  });
  const allowed = async (
    deployable: Deployable,
    action: string,
    resource: string,
    context?: Record<string, string>,
  ) => (await evaluator.evaluate(deployable, { action, resource, ...(context ? { context } : {}) })).allowed;

  it('lets recommendations read user features and vectors with BatchGetItem (the call user-state makes)', async () => {
    expect(await allowed('api-recommendations', 'dynamodb:BatchGetItem', table('users'))).toBe(true);
    expect(await allowed('api-recommendations', 'dynamodb:BatchGetItem', table('user-vectors'))).toBe(true);
    expect(await allowed('api-recommendations', 'dynamodb:PutItem', table('users'))).toBe(false);
  });

  it('lets the training job write segment exports, and nothing outside its prefixes', async () => {
    expect(await allowed('train', 's3:PutObject', object('exports/segments/v1/S1.csv'))).toBe(true);
    expect(await allowed('train', 's3:PutObject', object('exports/recommendations/v1/all.csv'))).toBe(false);
    expect(await allowed('train', 's3:PutObject', object('incoming/interactions/x.csv'))).toBe(false);
  });

  it('keeps preprocess to the tables it maintains, and nobody may delete object versions', async () => {
    for (const name of ['users', 'items', 'dataset-stats', 'ledger']) {
      expect(await allowed('preprocess', 'dynamodb:PutItem', table(name))).toBe(true);
    }
    for (const name of ['user-vectors', 'experiments']) {
      expect(await allowed('preprocess', 'dynamodb:GetItem', table(name))).toBe(false);
    }
    for (const deployable of ['preprocess', 'events-delivery', 'train'] as const) {
      expect(await allowed(deployable, 's3:DeleteObjectVersion', object('incoming/items/a.csv'))).toBe(false);
      expect(
        await allowed(
          deployable,
          's3:DeleteObjectVersion',
          object('incoming/interactions/api-events/a.jsonl'),
        ),
      ).toBe(false);
    }
  });

  it('lets the events function put records on its delivery stream only, and Firehose write only its prefixes', async () => {
    const stream = (name: string) => `arn:aws:firehose:us-east-1:${LOCAL_ACCOUNT_ID}:deliverystream/${name}`;
    expect(await allowed('api-events', 'firehose:PutRecord', stream('mappa-api-events'))).toBe(true);
    expect(await allowed('api-events', 'firehose:PutRecordBatch', stream('mappa-api-events'))).toBe(false);
    expect(await allowed('api-events', 'firehose:PutRecord', stream('other-stream'))).toBe(false);
    expect(await allowed('api-recommendations', 'firehose:PutRecord', stream('mappa-api-events'))).toBe(
      false,
    );
    const delivered = object('incoming/interactions/api-events/2026-12-01/mappa-api-events-1-x.jsonl');
    expect(await allowed('events-delivery', 's3:PutObject', delivered)).toBe(true);
    expect(await allowed('events-delivery', 's3:PutObject', object('incoming/interactions/orders.csv'))).toBe(
      false,
    );
    expect(await allowed('events-delivery', 's3:PutObject', object('models/manifest.json'))).toBe(false);
    expect(await allowed('api-events', 's3:PutObject', delivered)).toBe(false);
  });

  it('limits listing by prefix where a prefix serves', async () => {
    const prefix = (value: string) => ({ 's3:prefix': value });
    expect(await allowed('train', 's3:ListBucket', 'arn:aws:s3:::mappa-data', prefix('curated/'))).toBe(true);
    expect(
      await allowed(
        'api-recommendations',
        's3:ListBucket',
        'arn:aws:s3:::mappa-data',
        prefix('curated/items/'),
      ),
    ).toBe(true);
    expect(await allowed('api-events', 's3:ListBucket', 'arn:aws:s3:::mappa-data', prefix('incoming/'))).toBe(
      false,
    );
  });

  it('refuses commands it has no mapping for instead of letting them through', async () => {
    await expect(evaluator.authorize('train', 'S3', 'CreateBucketCommand', { Bucket: 'x' })).rejects.toThrow(
      UnmappedCommandError,
    );
  });

  describe('on real SDK calls against the embedded stack', () => {
    // Its own recorder: these deliberate denials are not part of the suite's usage record.
    const testStack = useTestStack({ iamRecorder: new IamUsageRecorder() });

    it('fails a denied S3 call as AWS does: AccessDenied, 403, naming the role, action and resource', async () => {
      const { s3 } = testStack().clientsFor('api-model');
      const error = await s3
        .send(
          new PutObjectCommand({
            Bucket: testStack().names.dataBucket,
            Key: 'models/manifest.json',
            Body: '{}',
          }),
        )
        .catch((caught: unknown) => caught);
      expect(error).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
      expect(String((error as Error).message)).toBe(
        'User: arn:aws:sts::000000000000:assumed-role/api-model/api-model is not authorized to perform: ' +
          's3:PutObject on resource: arn:aws:s3:::mappa-data/models/manifest.json because no identity-based policy allows the s3:PutObject action',
      );
    });

    it('fails a denied DynamoDB call with AccessDeniedException before it reaches the table', async () => {
      const { dynamoDb } = testStack().clientsFor('api-similar-items');
      await expect(
        dynamoDb.send(
          new GetItemCommand({ TableName: testStack().names.tables.users, Key: { user_id: { S: 'u1' } } }),
        ),
      ).rejects.toMatchObject({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } });
      expect(testStack().account.recorder?.denied()).toContainEqual(
        expect.objectContaining({
          deployable: 'api-similar-items',
          action: 'dynamodb:GetItem',
          allowed: false,
        }),
      );
    });

    it('answers a missing key with 404 to a role that may list the bucket, and 403 to one that may not', async () => {
      const read = (deployable: Deployable, key: string) =>
        testStack()
          .clientsFor(deployable)
          .s3.send(new GetObjectCommand({ Bucket: testStack().names.dataBucket, Key: key }))
          .catch((caught: unknown) => caught);
      // api-model may read models/ and list the bucket: the manifest is simply not there yet.
      expect(await read('api-model', 'models/manifest.json')).toMatchObject({ name: 'NoSuchKey' });
      // A role that may read curated/ but list only that prefix: S3 will not say the key is missing.
      const policies = await defaultPolicies();
      const prefixOnly = {
        ...policies,
        deployables: {
          ...policies.deployables,
          train: {
            ...policies.deployables.train,
            policies: policies.deployables.train.policies.map((policy) => ({
              ...policy,
              document: {
                ...policy.document,
                // Without the unconditioned listing grant; the prefix-conditioned one stays.
                Statement: policy.document.Statement.filter(
                  (statement) => !(statement.Action === 's3:ListBucket' && statement.Condition === undefined),
                ),
              },
            })),
          },
        },
      };
      const account = new LocalAccount(testStack().account.endpoints, prefixOnly, new IamUsageRecorder());
      const denied = await account
        .clientsFor('train')
        .s3.send(new GetObjectCommand({ Bucket: testStack().names.dataBucket, Key: 'curated/missing.json' }))
        .catch((caught: unknown) => caught);
      account.destroy();
      expect(denied).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
      expect(await read('train', 'curated/missing.json')).toMatchObject({ name: 'NoSuchKey' });
    });

    it('fails a denied Firehose call with AccessDeniedException naming the stream', async () => {
      const { firehose } = testStack().clientsFor('api-recommendations');
      const error = await firehose
        .send(
          new PutRecordCommand({
            DeliveryStreamName: testStack().names.eventsStream,
            Record: { Data: Buffer.from('{}\n') },
          }),
        )
        .catch((caught: unknown) => caught);
      expect(error).toMatchObject({ name: 'AccessDeniedException' });
      expect(String((error as Error).message)).toContain(
        `firehose:PutRecord on resource: arn:aws:firehose:us-east-1:${LOCAL_ACCOUNT_ID}:deliverystream/mappa-api-events`,
      );
      expect(testStack().firehose.pendingRecords()).toBe(0);
    });

    it('leaves the operator (administrator) clients unrestricted', async () => {
      await expect(
        testStack().s3.send(new CreateBucketCommand({ Bucket: 'operator-bucket' })),
      ).resolves.toBeDefined();
    });
  });
});
