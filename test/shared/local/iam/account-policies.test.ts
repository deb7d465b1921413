import {
  policiesFromTemplate,
  type SynthesizedTemplate,
} from '../../../../shared/local/iam/account-policies';
import { DEPLOYABLES } from '../../../../shared/resources/deployables';

const roleIds = Object.fromEntries(DEPLOYABLES.map((deployable) => [deployable, 'TrainRole'])) as Record<
  (typeof DEPLOYABLES)[number],
  string
>;

function template(statement: Record<string, unknown>): SynthesizedTemplate {
  return {
    Resources: {
      TrainRole: { Type: 'AWS::IAM::Role' },
      DataBucket: { Type: 'AWS::S3::Bucket' },
      UsersTable: { Type: 'AWS::DynamoDB::Table', Properties: { TableName: 'mappa-users' } },
      TrainPolicy: {
        Type: 'AWS::IAM::Policy',
        Properties: { Roles: [{ Ref: 'TrainRole' }], PolicyDocument: { Statement: [statement] } },
      },
      OtherPolicy: {
        Type: 'AWS::IAM::Policy',
        Properties: { Roles: [{ Ref: 'SomeoneElse' }], PolicyDocument: { Statement: [] } },
      },
    },
  };
}

describe('policiesFromTemplate', () => {
  it('resolves bucket and table ARNs, joins, pseudo parameters and index suffixes to local names', () => {
    // Prepare
    const statement = {
      Effect: 'Allow',
      Action: ['s3:GetObject', 'dynamodb:Query'],
      Resource: [
        { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['DataBucket', 'Arn'] }, '/models/*']] },
        { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['UsersTable', 'Arn'] }, '/index/*']] },
        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::', { Ref: 'DataBucket' }]] },
      ],
    };
    // Act
    const policies = policiesFromTemplate({
      template: template(statement),
      roleLogicalIds: roleIds,
      bucketNames: { DataBucket: 'mappa-data' },
      region: 'eu-west-1',
    });
    // Assess
    expect(policies.deployables.train.roleArn).toBe('arn:aws:iam::000000000000:role/train');
    expect(policies.deployables.train.policies).toEqual([
      {
        name: 'TrainPolicy',
        document: {
          Statement: [
            {
              Effect: 'Allow',
              Action: ['s3:GetObject', 'dynamodb:Query'],
              Resource: [
                'arn:aws:s3:::mappa-data/models/*',
                'arn:aws:dynamodb:eu-west-1:000000000000:table/mappa-users/index/*',
                'arn:aws:s3:::mappa-data',
              ],
            },
          ],
        },
      },
    ]);
  });

  it('refuses intrinsics it cannot resolve rather than guessing a policy', () => {
    const statement = { Effect: 'Allow', Action: 's3:GetObject', Resource: { 'Fn::ImportValue': 'x' } };
    expect(() =>
      policiesFromTemplate({
        template: template(statement),
        roleLogicalIds: roleIds,
        bucketNames: { DataBucket: 'mappa-data' },
        region: 'eu-west-1',
      }),
    ).toThrow('unsupported intrinsic Fn::ImportValue');
  });

  it('refuses a role that is not in the template', () => {
    expect(() =>
      policiesFromTemplate({
        template: template({}),
        roleLogicalIds: { ...roleIds, preprocess: 'Missing' },
        bucketNames: { DataBucket: 'mappa-data' },
        region: 'eu-west-1',
      }),
    ).toThrow("preprocess's role Missing is not an AWS::IAM::Role");
  });
});
