import { Match } from 'aws-cdk-lib/assertions';
import { defaultTemplate, synthMappaStack } from '../support/synth';

/** First-deploy traps: what an AWS account refuses or silently breaks, checked at synth. */
describe('account constraints at synth', () => {
  const template = defaultTemplate();

  it('reserves no Lambda concurrency by default (an account at the default limit of 10 has none to reserve)', () => {
    const reserved = Object.entries(template.findResources('AWS::Lambda::Function')).filter(
      ([, resource]) => resource.Properties.ReservedConcurrentExecutions !== undefined,
    );
    expect(reserved.map(([id]) => id)).toEqual([]);
  });

  it('reserves ingestion concurrency only when the stated account limit leaves 100 unreserved', () => {
    // Prepare / Act: an account whose limit was raised to 1,000.
    const raised = synthMappaStack({ ingestionConcurrency: 5, accountConcurrencyLimit: 1000 }).template;
    // Assess
    raised.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('drop-folder files'),
      ReservedConcurrentExecutions: 5,
    });
    expect(() => synthMappaStack({ ingestionConcurrency: 5 })).toThrow(
      /ingestionConcurrency.*5 reserved executions exceed what an account with a concurrency limit of 10 can reserve \(0/,
    );
    expect(() => synthMappaStack({ ingestionConcurrency: 901, accountConcurrencyLimit: 1000 })).toThrow(
      /can reserve \(900/,
    );
  });

  it('encrypts the alarm topic with a customer-managed, rotated key whose policy lets CloudWatch publish', () => {
    const topics = Object.values(template.findResources('AWS::SNS::Topic'));
    expect(topics).toHaveLength(1);
    const keyRef = topics[0]?.Properties.KmsMasterKeyId as { 'Fn::GetAtt'?: [string, string] };
    // Not the AWS-managed alias/aws/sns key, whose policy CloudWatch cannot use.
    expect(JSON.stringify(keyRef)).not.toContain('alias/aws/sns');
    const keyId = keyRef['Fn::GetAtt']?.[0] ?? '';
    const key = template.findResources('AWS::KMS::Key')[keyId];
    expect(key?.Properties.EnableKeyRotation).toBe(true);
    const statements = key?.Properties.KeyPolicy.Statement as {
      Principal?: { Service?: string };
      Action: string | string[];
      Effect: string;
    }[];
    const forCloudWatch = statements.filter(
      (statement) =>
        statement.Effect === 'Allow' && statement.Principal?.Service === 'cloudwatch.amazonaws.com',
    );
    expect(forCloudWatch.flatMap((statement) => [statement.Action].flat()).sort()).toEqual([
      'kms:Decrypt',
      'kms:GenerateDataKey*',
    ]);
  });

  it('lets CloudWatch alarms publish to the topic', () => {
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'sns:Publish',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
          }),
        ]),
      },
    });
  });
});
