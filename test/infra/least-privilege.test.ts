import { defaultTemplate } from '../support/synth';

/** Actions AWS offers no resource-level permissions for, where `Resource: "*"` is required. */
const RESOURCE_STAR_REQUIRED = new Set([
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
  'ecr:GetAuthorizationToken',
]);

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

describe('IAM least privilege over the synthesized app', () => {
  const template = defaultTemplate();
  const statements: { policy: string; statement: Statement }[] = Object.entries(
    template.findResources('AWS::IAM::Policy'),
  ).flatMap(([policy, resource]) =>
    (resource.Properties.PolicyDocument.Statement as Statement[]).map((statement) => ({ policy, statement })),
  );

  it('has policies to check', () => {
    expect(statements.length).toBeGreaterThan(0);
  });

  it('never allows Action "*"', () => {
    const offenders = statements.filter(({ statement }) =>
      [statement.Action].flat().some((action) => action === '*' || action.endsWith(':*')),
    );
    expect(offenders).toEqual([]);
  });

  it('uses Resource "*" only for actions AWS requires it for', () => {
    const offenders = statements
      .filter(({ statement }) => [statement.Resource].flat().includes('*'))
      .filter(({ statement }) =>
        [statement.Action].flat().some((action) => !RESOURCE_STAR_REQUIRED.has(action)),
      );
    expect(offenders).toEqual([]);
  });
});
