import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { DataLake } from '../../infra/constructs/data-lake';

function synth(props: ConstructorParameters<typeof DataLake>[2] = {}): Template {
  const stack = new Stack(new App(), 'Test');
  new DataLake(stack, 'DataLake', props);
  return Template.fromStack(stack);
}

describe('DataLake', () => {
  it('creates an encrypted, versioned, private data bucket that logs access', () => {
    const template = synth();
    template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LoggingConfiguration: { LogFilePrefix: 'data-bucket/' },
    });
  });

  it('denies non-TLS access on both buckets', () => {
    const template = synth();
    const policies = template.findResources('AWS::S3::BucketPolicy', {
      Properties: {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      },
    });
    expect(Object.keys(policies)).toHaveLength(2);
  });

  it('expires rejected rows and old versions after the configured days', () => {
    const template = synth({ rejectedRetentionDays: 14, noncurrentVersionRetentionDays: 5 });
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({
            Id: 'expire-rejected',
            Prefix: 'rejected/',
            ExpirationInDays: 14,
            Status: 'Enabled',
          }),
          Match.objectLike({
            Id: 'expire-noncurrent-versions',
            NoncurrentVersionExpiration: { NoncurrentDays: 5 },
          }),
        ]),
      },
    });
  });

  it('retains data by default and deletes it only when asked', () => {
    synth().hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain' });
    const destroyed = synth({ removalPolicy: RemovalPolicy.DESTROY });
    destroyed.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Delete' });
  });

  it('rejects a retention that is not a positive whole number of days', () => {
    expect(() => synth({ rejectedRetentionDays: 0 })).toThrow(
      'DataLake: rejectedRetentionDays must be a positive whole number of days, got 0',
    );
    expect(() => synth({ accessLogRetentionDays: 1.5 })).toThrow('accessLogRetentionDays');
  });
});
