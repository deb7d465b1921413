import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
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
    for (const deployable of ['preprocess', 'compact-events', 'train'] as const) {
      expect(await allowed(deployable, 's3:DeleteObjectVersion', object('incoming/items/a.csv'))).toBe(false);
      expect(await allowed(deployable, 's3:DeleteObjectVersion', object('staging/events/a.json'))).toBe(
        false,
      );
    }
  });

  it('limits listing by prefix where a prefix serves', async () => {
    const prefix = (value: string) => ({ 's3:prefix': value });
    expect(
      await allowed('compact-events', 's3:ListBucket', 'arn:aws:s3:::mappa-data', prefix('staging/events/')),
    ).toBe(true);
    expect(
      await allowed('compact-events', 's3:ListBucket', 'arn:aws:s3:::mappa-data', prefix('curated/')),
    ).toBe(false);
    expect(await allowed('api-events', 's3:ListBucket', 'arn:aws:s3:::mappa-data', prefix('staging/'))).toBe(
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
      // compact-events may read staging/events/ but only list that prefix: S3 will not say the key is missing.
      expect(await read('compact-events', 'staging/events/missing.json')).toMatchObject({
        name: 'AccessDenied',
        $metadata: { httpStatusCode: 403 },
      });
    });

    it('leaves the operator (administrator) clients unrestricted', async () => {
      await expect(
        testStack().s3.send(new CreateBucketCommand({ Bucket: 'operator-bucket' })),
      ).resolves.toBeDefined();
    });
  });
});
