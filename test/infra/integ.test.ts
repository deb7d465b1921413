import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildIntegApp } from '../integ/integ.mappa';

/** `npm run integ` needs an AWS account; here its app must synthesize with every assertion in place. */
describe('the integration test app (npm run integ)', () => {
  let assertionsTemplate: Template;
  let stageTemplate: Template;

  beforeAll(async () => {
    const { app, stack } = await buildIntegApp(new App({ context: { 'aws:cdk:bundling-stacks': [] } }));
    const assembly = app.synth();
    stageTemplate = Template.fromJSON(assembly.getStackByName(stack.stackName).template);
    const deployAssert = assembly.stacks.find((candidate) => candidate.stackName.includes('DeployAssert'));
    if (!deployAssert) throw new Error('no DeployAssert stack in the integration app');
    assertionsTemplate = Template.fromJSON(deployAssert.template);
  }, 120_000);

  it('deploys the stage with its data, and listens on the alarm topic', () => {
    stageTemplate.hasResourceProperties('Custom::CDKBucketDeployment', {
      DestinationBucketKeyPrefix: 'incoming/',
    });
    stageTemplate.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'sqs',
      RawMessageDelivery: true,
    });
  });

  it('trains, waits for a promoted model, calls recommendations, and sees an alarm reach the topic', () => {
    const calls = Object.values(
      assertionsTemplate.toJSON().Resources as Record<
        string,
        { Type: string; Properties: Record<string, unknown> }
      >,
    )
      .filter((resource) => resource.Type.startsWith('Custom::DeployAssert@'))
      .map(
        (resource) =>
          `${String(resource.Properties.service ?? 'http')}.${String(resource.Properties.api ?? 'fetch')}`,
      );
    expect(calls).toEqual(
      expect.arrayContaining([
        'ECS.runTask',
        'S3.getObject',
        'APIGateway.getApiKey',
        'http.fetch',
        'CloudWatch.setAlarmState',
        'SQS.receiveMessage',
      ]),
    );
  });
});
