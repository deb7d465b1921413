import { App, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { DataLake } from '../../infra/constructs/data-lake';
import { FeatureStore } from '../../infra/constructs/feature-store';
import { Ingestion } from '../../infra/constructs/ingestion';
import { defaultTemplate } from '../support/synth';

describe('Ingestion', () => {
  const template = defaultTemplate();

  it('notifies the preprocess function for ObjectCreated under each dataset prefix only', () => {
    const notifications = template.findResources('Custom::S3BucketNotifications');
    const configs =
      Object.values(notifications)[0]?.Properties.NotificationConfiguration.LambdaFunctionConfigurations;
    const prefixes = configs.map(
      (config: { Events: string[]; Filter: { Key: { FilterRules: { Name: string; Value: string }[] } } }) => {
        expect(config.Events).toEqual(['s3:ObjectCreated:*']);
        return config.Filter.Key.FilterRules.find((rule) => rule.Name === 'prefix')?.Value;
      },
    );
    expect(prefixes.sort()).toEqual(['incoming/interactions/', 'incoming/items/', 'incoming/users/']);
  });

  it('runs on Node 22 / ARM64 with a 15-minute timeout, tracing and no reserved concurrency by default', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Timeout: 900,
      MemorySize: 2048,
      ReservedConcurrentExecutions: Match.absent(),
      TracingConfig: { Mode: 'Active' },
      Environment: {
        Variables: Match.objectLike({
          MAPPA_DATA_BUCKET: Match.anyValue(),
          MAPPA_LEDGER_TABLE: Match.anyValue(),
          // The same V8 flags the ingestion benchmark measures under.
          NODE_OPTIONS: '--enable-source-maps --max-semi-space-size=2',
        }),
      },
    });
  });

  it('allows its own bounded continuation chain past Lambda’s recursive-loop detection', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('drop-folder files'),
      RecursiveLoop: 'Allow',
    });
  });

  it('retries twice and then sends the event to an encrypted SQS dead-letter queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('IngestionDeadLetters'), 'Arn'] } },
      },
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1_209_600,
    });
  });

  it('alarms on function errors and on dead-lettered files', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
      Threshold: 1,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Threshold: 1,
    });
  });

  it('rejects a negative reserved concurrency', () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Test');
    const lake = new DataLake(stack, 'Lake');
    const store = new FeatureStore(stack, 'Store', { namePrefix: 'mappa' });
    expect(
      () =>
        new Ingestion(stack, 'Ingestion', {
          bucket: lake.bucket,
          featureStore: store,
          reservedConcurrency: -1,
        }),
    ).toThrow('Ingestion: reservedConcurrency must be a whole number >= 0, got -1');
  });
});
