import { Match } from 'aws-cdk-lib/assertions';
import { loadStageConfig } from '../../infra/config';
import { defaultTemplate, synthMappaStack } from '../support/synth';

describe('Observability', () => {
  const { template } = synthMappaStack({ alarmEmail: 'ops@example.com' });

  it('sends every alarm to one encrypted, TLS-only SNS topic with the configured email', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      }),
    });
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBeGreaterThanOrEqual(6);
    for (const alarm of alarms) {
      expect(JSON.stringify(alarm.Properties.AlarmActions)).toContain('ObservabilityAlarms');
    }
  });

  it('has no subscription when no email is configured', () => {
    defaultTemplate().resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('builds one dashboard over ingestion, training and the API', () => {
    const dashboards = template.findResources('AWS::CloudWatch::Dashboard');
    expect(Object.keys(dashboards)).toHaveLength(1);
    const body = JSON.stringify(Object.values(dashboards)[0]?.Properties.DashboardBody);
    for (const title of [
      'Ingestion: rows per hour',
      'Training: failed runs and promoted models per day',
      'API latency p50 / p99',
      'Recommendation strategy mix',
    ]) {
      expect(body).toContain(title);
    }
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      MetricTransformations: [
        Match.objectLike({ MetricName: 'Ingestion_rejected', MetricValue: '$.rejected' }),
      ],
    });
  });
});

describe('stage configuration', () => {
  it('passes validated training hyper-parameters to the task', () => {
    const { template } = synthMappaStack({
      trainingHyperParameters: '{"embeddingDim":32,"epochs":5,"segments":6}',
    });
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({
          Environment: Match.arrayWith([
            { Name: 'MAPPA_TRAINING_CONFIG', Value: '{"embeddingDim":32,"epochs":5,"segments":6}' },
          ]),
        }),
      ],
    });
  });

  it('names the offending key of bad context', () => {
    const load = (context: Record<string, unknown>) => () => loadStageConfig((key) => context[key]);
    expect(load({ trainingHyperParameters: '{"embeddingDim":"big"}' })).toThrow(
      "Invalid CDK context 'trainingHyperParameters': is not valid training hyper-parameters",
    );
    expect(load({ trainingHyperParameters: '{"epochz":3}' })).toThrow(
      "Invalid CDK context 'trainingHyperParameters'",
    );
    expect(load({ alarmEmail: 'not-an-email' })).toThrow("Invalid CDK context 'alarmEmail'");
  });
});
