import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { API_ROUTES } from '../../shared/serving/routes';
import { OPENAPI } from '../support/openapi';
import { synthMappaStack } from '../support/synth';

type Resource = { Properties: Record<string, unknown> };

describe('ServingApi', () => {
  const { stack, template } = synthMappaStack({ apiThrottleRate: 50, apiThrottleBurst: 80 });
  const resolve = (value: unknown) => stack.resolve(value);

  /** Full resource paths of the API, rebuilt from the template's parent links. */
  function resourcePaths(): Map<string, string> {
    const resources = template.findResources('AWS::ApiGateway::Resource') as Record<string, Resource>;
    const paths = new Map<string, string>();
    const pathOf = (logicalId: string): string => {
      const resource = resources[logicalId];
      if (!resource) return '';
      const parent = resource.Properties.ParentId as { Ref?: string };
      return `${parent.Ref ? pathOf(parent.Ref) : ''}/${String(resource.Properties.PathPart)}`;
    };
    for (const logicalId of Object.keys(resources)) paths.set(logicalId, pathOf(logicalId));
    return paths;
  }

  it('exposes exactly the routes of the route table and of docs/openapi.json, each with its API-key rule', () => {
    const paths = resourcePaths();
    const methods = template.findResources('AWS::ApiGateway::Method') as Record<string, Resource>;
    const deployed = Object.values(methods)
      .filter((method) => method.Properties.HttpMethod !== 'OPTIONS')
      .map((method) => {
        const resource = (method.Properties.ResourceId as { Ref: string }).Ref;
        return `${String(method.Properties.HttpMethod)} ${paths.get(resource)} key=${String(method.Properties.ApiKeyRequired)}`;
      })
      .sort();
    expect(deployed).toEqual(
      API_ROUTES.map((route) => `${route.method} ${route.path} key=${route.apiKeyRequired}`).sort(),
    );
    const documented = Object.entries(OPENAPI.paths)
      .flatMap(([path, operations]) =>
        Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
      )
      .sort();
    expect(documented).toEqual(API_ROUTES.map((route) => `${route.method} ${route.path}`).sort());
  });

  it('throttles per API key with a usage plan from the stage config', () => {
    template.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      Throttle: { RateLimit: 50, BurstLimit: 80 },
    });
    template.resourceCountIs('AWS::ApiGateway::ApiKey', 1);
    template.resourceCountIs('AWS::ApiGateway::UsagePlanKey', 1);
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'live',
      TracingEnabled: true,
      AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue() }),
    });
  });

  it('runs one Node 22 / ARM64 function per API concern, with the serving environment', () => {
    for (const entry of [
      'Top-N recommendations',
      'Similar items',
      'Records behaviour events',
      'Served model',
    ]) {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: Match.stringLikeRegexp(entry),
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        Environment: {
          Variables: Match.objectLike({
            MAPPA_DATA_BUCKET: Match.anyValue(),
            MAPPA_USERS_TABLE: Match.anyValue(),
            MAPPA_USER_VECTORS_TABLE: Match.anyValue(),
            MAPPA_MODEL_RECHECK_SECONDS: '60',
            MAPPA_EXCLUDE_SEEN_EVENT_TYPES: '*',
          }),
        },
      });
    }
  });

  it('grants each function only what it touches', () => {
    const policyOf = (construct: { role?: unknown }) => {
      const policies = template.findResources('AWS::IAM::Policy') as Record<string, Resource>;
      const roleRef = resolve((construct.role as { roleName: string }).roleName);
      const statements = Object.values(policies)
        .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(JSON.stringify(roleRef)))
        .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: unknown[] }).Statement);
      return JSON.stringify(statements);
    };
    const { functions } = stack.serving;
    const recommendations = policyOf(functions.recommendations);
    expect(recommendations).toContain('/models/*');
    expect(recommendations).toContain('dynamodb:BatchGetItem');
    expect(recommendations).not.toMatch(/s3:PutObject|dynamodb:(PutItem|DeleteItem)/);
    // Its only writes: counting experiment exposures (and noting them on the user's record) and served lists.
    const writes = (JSON.parse(recommendations) as { Action: string | string[]; Resource: unknown }[]).filter(
      (statement) => JSON.stringify(statement.Action).includes('dynamodb:UpdateItem'),
    );
    const written = JSON.stringify(writes.map((statement) => statement.Resource));
    expect(written).not.toContain('"*"');
    expect(
      [...new Set([...written.matchAll(/"FeatureStore([A-Za-z]+?)[0-9A-F]{8}"/g)].map((m) => m[1]))].sort(),
    ).toEqual(['Attribution', 'Experiments', 'Users']);
    const events = policyOf(functions.events);
    // Posted events go to the delivery stream, one PutRecord per request; the function writes no S3 object.
    expect(events.match(/firehose:[A-Za-z]+/g)).toEqual(['firehose:PutRecord']);
    expect(events).not.toMatch(/s3:/);
    expect(events).toContain('dynamodb:UpdateItem');
    // The model function reads DynamoDB only for /v1/health's probe: one GetItem on the users table.
    const model = policyOf(functions.model);
    expect(model.match(/dynamodb:[A-Za-z]+/g)).toEqual(['dynamodb:GetItem']);
    expect(model).toContain('FeatureStoreUsers');
    // Firehose's role writes the two prefixes of the delivery stream and nothing else.
    const delivery = policyOf(stack.eventsDelivery);
    expect(delivery).toContain('/incoming/interactions/api-events/*');
    expect(delivery).toContain('/rejected/api-events-delivery/*');
    expect(delivery).not.toMatch(/dynamodb:|s3:DeleteObject|\/curated\/|\/models\//);
  });

  it('delivers posted events through an encrypted Firehose stream into the drop folder, a file per minute or 5 MiB', () => {
    template.resourceCountIs('AWS::Events::Rule', 1); // the training schedule only: no compactor
    template.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      DeliveryStreamType: 'DirectPut',
      DeliveryStreamEncryptionConfigurationInput: { KeyType: 'AWS_OWNED_CMK' },
      ExtendedS3DestinationConfiguration: Match.objectLike({
        Prefix: 'incoming/interactions/api-events/!{timestamp:yyyy-MM-dd}/',
        FileExtension: '.jsonl',
        BufferingHints: { IntervalInSeconds: 60, SizeInMBs: 5 },
      }),
    });
    const roles = template.findResources('AWS::IAM::Role', {
      Properties: { Description: Match.stringLikeRegexp('Firehose') },
    }) as Record<string, Resource>;
    expect(JSON.stringify(Object.values(roles)[0]?.Properties.AssumeRolePolicyDocument)).toContain(
      'aws:SourceAccount',
    );
    const functions = template.findResources('AWS::Lambda::Function') as Record<string, Resource>;
    const eventsFunction = Object.values(functions).find((fn) =>
      String(fn.Properties.Description).startsWith('Records behaviour events'),
    );
    expect(JSON.stringify(eventsFunction?.Properties.Environment)).toContain('MAPPA_EVENTS_STREAM');
  });

  it('alarms on 5xx answers and on p99 latency', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: '5XXError',
      Namespace: 'AWS/ApiGateway',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Latency',
      ExtendedStatistic: 'p99',
      Threshold: 500,
    });
  });

  it('adds CORS preflight and headers only when origins are configured', () => {
    const withCors = synthMappaStack({ apiCorsOrigins: 'https://shop.example' }).template;
    withCors.hasResourceProperties('AWS::ApiGateway::Method', { HttpMethod: 'OPTIONS' });
    withCors.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ MAPPA_CORS_ORIGINS: 'https://shop.example' }) },
    });
    expect(
      Object.keys(
        template.findResources('AWS::ApiGateway::Method', { Properties: { HttpMethod: 'OPTIONS' } }),
      ),
    ).toEqual([]);
  });
});

describe('ServingApi with IAM authorization', () => {
  const { stack: iamStack, template } = synthMappaStack({ apiAuth: 'iam' });

  it('passes the cdk-nag AwsSolutions checks too', () => {
    const findings = [
      ...Annotations.fromStack(iamStack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
      ...Annotations.fromStack(iamStack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
    ];
    expect(findings.map((finding) => finding.id)).toEqual([]);
  });

  it('signs every route but health with IAM and creates no API key or usage plan', () => {
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method')).filter(
      (method) => method.Properties.HttpMethod !== 'OPTIONS',
    );
    const iam = methods.filter((method) => method.Properties.AuthorizationType === 'AWS_IAM');
    expect(iam).toHaveLength(API_ROUTES.filter((route) => route.apiKeyRequired).length);
    for (const method of methods) expect(method.Properties.ApiKeyRequired).toBe(false);
    template.resourceCountIs('AWS::ApiGateway::ApiKey', 0);
    template.resourceCountIs('AWS::ApiGateway::UsagePlan', 0);
  });
});
