import { DescribeTableCommand, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import type { EmbeddedStack } from '../../shared/local/embedded-stack';
import { TABLE_KEYS } from '../../shared/resources/definitions';
import { startTestStack } from '../support/local-stack';
import { defaultTemplate } from '../support/synth';

interface KeyShape {
  keySchema: { AttributeName?: string; KeyType?: string }[];
  attributes: { AttributeName?: string; AttributeType?: string }[];
  indexes: string[];
}

const byName = <T extends { AttributeName?: string }>(list: T[]) =>
  [...list].sort((a, b) => String(a.AttributeName).localeCompare(String(b.AttributeName)));

describe('local stack and CDK app build from the same definitions', () => {
  let stack: EmbeddedStack;
  let stop: () => Promise<void>;
  const template = defaultTemplate();

  beforeAll(async () => {
    ({ stack, stop } = await startTestStack());
  });
  afterAll(() => stop());

  it('creates exactly the tables the CDK app defines, with the same names, keys and indexes', async () => {
    // Prepare: the cloud shape from the synthesized template.
    const cloud = new Map<string, KeyShape>();
    for (const resource of Object.values(template.findResources('AWS::DynamoDB::Table'))) {
      const props = resource.Properties;
      cloud.set(props.TableName, {
        keySchema: props.KeySchema,
        attributes: byName(props.AttributeDefinitions),
        indexes: (props.GlobalSecondaryIndexes ?? [])
          .map((index: { IndexName: string }) => index.IndexName)
          .sort(),
      });
    }

    // Act: the local shape from DescribeTable.
    const listed = await stack.dynamoDb.send(new ListTablesCommand({}));
    const local = new Map<string, KeyShape>();
    for (const name of listed.TableNames ?? []) {
      const { Table } = await stack.dynamoDb.send(new DescribeTableCommand({ TableName: name }));
      local.set(name, {
        keySchema: (Table?.KeySchema ?? []).map(({ AttributeName, KeyType }) => ({ AttributeName, KeyType })),
        attributes: byName(
          (Table?.AttributeDefinitions ?? []).map(({ AttributeName, AttributeType }) => ({
            AttributeName,
            AttributeType,
          })),
        ),
        indexes: (Table?.GlobalSecondaryIndexes ?? []).map((index) => String(index.IndexName)).sort(),
      });
    }

    // Assess
    expect(cloud.size).toBe(TABLE_KEYS.length);
    expect([...local.keys()].sort()).toEqual([...cloud.keys()].sort());
    for (const [name, shape] of cloud) expect(local.get(name)).toEqual(shape);
  });

  it('creates the data bucket the local names promise', async () => {
    await expect(
      stack.s3.send(new HeadBucketCommand({ Bucket: stack.names.dataBucket })),
    ).resolves.toBeDefined();
    expect(Object.keys(template.findResources('AWS::S3::Bucket'))).toHaveLength(2);
  });
});
