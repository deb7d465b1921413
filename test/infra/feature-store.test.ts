import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { FeatureStore } from '../../infra/constructs/feature-store';
import { TABLE_KEYS, tableName } from '../../shared/resources/definitions';

function synth(namePrefix = 'mappa'): Template {
  const stack = new Stack(new App(), 'Test');
  new FeatureStore(stack, 'FeatureStore', { namePrefix });
  return Template.fromStack(stack);
}

describe('FeatureStore', () => {
  it('creates one on-demand table per shared definition with PITR and encryption', () => {
    const template = synth();
    template.resourceCountIs('AWS::DynamoDB::Table', TABLE_KEYS.length);
    for (const key of TABLE_KEYS) {
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        TableName: tableName('mappa', key),
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
      });
    }
  });

  it('enables TTL on the ledger table', () => {
    synth().hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: 'mappa-ledger',
      TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
    });
  });

  it('rejects a name prefix DynamoDB would not accept', () => {
    expect(() => synth('bad prefix!')).toThrow(
      "FeatureStore: namePrefix 'bad prefix!' is not a valid DynamoDB name prefix",
    );
  });
});
