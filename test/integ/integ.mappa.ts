import { mkdirSync, mkdtempSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExpectedResult, IntegTest } from '@aws-cdk/integ-tests-alpha';
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { loadStageConfig } from '../../infra/config';
import { MappaStack } from '../../infra/mappa-stack';
import { SYNTHETIC_PRESETS } from '../../shared/synthetic/generator';
import { writeSyntheticDataset } from '../../shared/synthetic/write-files';

/**
 * `npm run integ`: deploys Mappa into a real account (a stage named
 * `mappa-integ`, removed afterwards) and proves the first deploy works end to
 * end, with @aws-cdk/integ-tests-alpha assertions that fail the deployment:
 * 1. a small synthetic dataset lands in the drop folder (the preprocess Lambda ingests it);
 * 2. a training run is started on demand and a model is promoted (models/manifest.json);
 * 3. GET /v1/users/u1/recommendations answers 200 with the deployed API key;
 * 4. an alarm set to ALARM reaches the alarm topic (an SQS queue subscribed to it receives it).
 * Here (no account) it synthesizes and type-checks: test/infra/integ.test.ts.
 */
export async function buildIntegApp(
  app = new App(),
): Promise<{ app: App; stack: MappaStack; integ: IntegTest }> {
  const config = loadStageConfig((key) => app.node.tryGetContext(key) ?? INTEG_CONTEXT[key]);
  const stack = new MappaStack(app, 'MappaInteg', { config, description: 'Mappa integration test stage' });

  // 1. Data: the tiny synthetic world as canonical CSVs under incoming/<dataset>/.
  const data = mkdtempSync(join(tmpdir(), 'mappa-integ-data-'));
  const written = await writeSyntheticDataset(join(data, 'generated'), SYNTHETIC_PRESETS.tiny);
  for (const dataset of ['interactions', 'users', 'items'] as const) {
    mkdirSync(join(data, 'incoming', dataset), { recursive: true });
    renameSync(written[dataset].path, join(data, 'incoming', dataset, `${dataset}.csv`));
  }
  new s3deploy.BucketDeployment(stack, 'IntegData', {
    sources: [s3deploy.Source.asset(join(data, 'incoming'))],
    destinationBucket: stack.dataLake.bucket,
    destinationKeyPrefix: 'incoming/',
    prune: false,
  });

  // 4. A queue on the alarm topic, so the test can see an alarm arrive.
  const alarmInbox = new sqs.Queue(stack, 'AlarmInbox', {
    enforceSSL: true,
    retentionPeriod: Duration.hours(2),
  });
  stack.observability.alarmTopic.addSubscription(
    new subscriptions.SqsSubscription(alarmInbox, { rawMessageDelivery: true }),
  );

  const integ = new IntegTest(app, 'MappaIntegTest', {
    testCases: [stack],
    cdkCommandOptions: { destroy: { args: { force: true } } },
  });
  const assertions = integ.assertions;

  // 2. Train on demand (the RunTrainingNow output's call) and wait for the manifest.
  const training = stack.training;
  const runTask = assertions.awsApiCall('ECS', 'runTask', {
    cluster: training.cluster.clusterArn,
    taskDefinition: training.taskDefinition.taskDefinitionArn,
    launchType: 'FARGATE',
    networkConfiguration: {
      awsvpcConfiguration: {
        subnets: training.vpc.publicSubnets.map((subnet) => subnet.subnetId),
        securityGroups: [training.securityGroup.securityGroupId],
        assignPublicIp: 'ENABLED',
      },
    },
  });
  runTask.provider.addToRolePolicy({
    Effect: 'Allow',
    Action: ['iam:PassRole'],
    Resource: [
      training.taskDefinition.taskRole.roleArn,
      training.taskDefinition.obtainExecutionRole().roleArn,
    ],
  });
  const manifest = assertions
    .awsApiCall('S3', 'getObject', { Bucket: stack.dataLake.bucket.bucketName, Key: 'models/manifest.json' })
    .expect(ExpectedResult.objectLike({ ContentType: 'application/json' }))
    .waitForAssertions({ totalTimeout: Duration.minutes(60), interval: Duration.minutes(2) });
  manifest.provider.addToRolePolicy({
    Effect: 'Allow',
    Action: ['s3:GetObject', 's3:ListBucket'],
    Resource: [stack.dataLake.bucket.bucketArn, stack.dataLake.bucket.arnForObjects('models/*')],
  });

  // 3. The API with the deployed key.
  const apiKey = stack.serving.apiKey;
  if (!apiKey) throw new Error('integ: the integration stage uses API-key authentication');
  const key = assertions.awsApiCall('APIGateway', 'getApiKey', { apiKey: apiKey.keyId, includeValue: true });
  key.provider.addToRolePolicy({
    Effect: 'Allow',
    Action: ['apigateway:GET'],
    Resource: [
      Stack.of(stack).formatArn({
        service: 'apigateway',
        account: '',
        resource: '/apikeys',
        resourceName: '*',
      }),
    ],
  });
  const recommendations = assertions
    .httpApiCall(stack.serving.api.urlForPath('/v1/users/u1/recommendations?limit=5'), {
      headers: { 'x-api-key': key.getAttString('value') },
    })
    .expect(ExpectedResult.objectLike({ status: 200 }));

  // 4. An alarm reaches the topic.
  const raise = assertions.awsApiCall('CloudWatch', 'setAlarmState', {
    AlarmName: stack.serving.serverErrorsAlarm.alarmName,
    StateValue: 'ALARM',
    StateReason: 'Mappa integration test: checking that alarms reach the alarm topic',
  });
  const received = assertions
    .awsApiCall('SQS', 'receiveMessage', { QueueUrl: alarmInbox.queueUrl, WaitTimeSeconds: 20 })
    .assertAtPath('Messages.0.Body', ExpectedResult.stringLikeRegexp('ALARM'))
    .waitForAssertions({ totalTimeout: Duration.minutes(5), interval: Duration.seconds(20) });

  runTask.next(manifest).next(key).next(recommendations).next(raise).next(received);
  return { app, stack, integ };
}

/** The integration stage: its own names, removed with the stack, a short training run. */
const INTEG_CONTEXT: Record<string, unknown> = {
  namePrefix: 'mappa-integ',
  removalPolicy: 'destroy',
  trainingMaxMinutes: 60,
  trainingHyperParameters: JSON.stringify({ epochs: 3 }),
};

if (require.main === module) {
  void buildIntegApp().then(({ app }) => app.synth());
}
