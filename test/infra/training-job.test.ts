import { App, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { DataLake } from '../../infra/constructs/data-lake';
import { FeatureStore } from '../../infra/constructs/feature-store';
import { TrainingJob } from '../../infra/constructs/training-job';
import { synthMappaStack } from '../support/synth';

describe('TrainingJob', () => {
  const { template } = synthMappaStack({
    trainingSchedule: 'cron(30 2 * * ? *)',
    trainingCpu: 4096,
    trainingMemoryMiB: 16384,
  });

  it('defines a Fargate task with the configured CPU and memory, built from the training Dockerfile', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Cpu: '4096',
      Memory: '16384',
      RequiresCompatibilities: ['FARGATE'],
      RuntimePlatform: { CpuArchitecture: 'X86_64', OperatingSystemFamily: 'LINUX' },
      ContainerDefinitions: [
        Match.objectLike({
          Environment: Match.arrayWith([{ Name: 'MAPPA_TF_BACKEND', Value: 'tensorflow' }]),
          LogConfiguration: Match.objectLike({ LogDriver: 'awslogs' }),
        }),
      ],
    });
  });

  it('runs on the schedule from context', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'cron(30 2 * * ? *)',
      Targets: [Match.objectLike({ EcsParameters: Match.objectLike({ LaunchType: 'FARGATE' }) })],
    });
  });

  it('alarms on failed runs and on days without a promoted model', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'TrainingRunsFailed',
      Threshold: 1,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ModelsPromoted',
      ComparisonOperator: 'LessThanThreshold',
      EvaluationPeriods: 3,
      TreatMissingData: 'breaching',
    });
  });

  it('has no NAT gateway (nothing bills while no task runs) and container insights on', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.hasResourceProperties('AWS::ECS::Cluster', {
      ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }],
    });
  });

  it('rejects a CPU size Fargate does not offer', () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Test');
    const lake = new DataLake(stack, 'Lake');
    const store = new FeatureStore(stack, 'Store', { namePrefix: 'mappa' });
    expect(
      () => new TrainingJob(stack, 'Training', { bucket: lake.bucket, featureStore: store, cpu: 3000 }),
    ).toThrow('TrainingJob: cpu must be a Fargate CPU size (256 … 16384), got 3000');
  });
});
