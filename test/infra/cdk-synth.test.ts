import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { policiesFromTemplate, type SynthesizedTemplate } from '../../shared/local/iam/account-policies';
import { commandsNotAllowed, sdkCommandsInBundle } from '../../shared/local/iam/bundle-check';
import { TABLE_KEYS } from '../../shared/resources/definitions';
import { API_FUNCTIONS } from '../../shared/serving/routes';

interface TemplateResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, string>;
}

describe('npx cdk synth', () => {
  const out = mkdtempSync(join(tmpdir(), 'mappa-cdk-out-'));
  let template: { Resources: Record<string, TemplateResource> };

  beforeAll(() => {
    // Prepare: an environment with no AWS credentials or profile at all.
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('AWS_')));
    // Act
    execFileSync('npx', ['cdk', 'synth', '--quiet', '--output', out], {
      env: { ...env, CDK_DISABLE_VERSION_CHECK: 'true', CDK_DISABLE_CLI_TELEMETRY: 'true' },
      stdio: 'pipe',
      timeout: 180_000,
    });
    const templatePath = join(out, 'Mappa.template.json');
    if (!existsSync(templatePath)) throw new Error(`cdk synth wrote no ${templatePath}`);
    template = JSON.parse(readFileSync(templatePath, 'utf8')) as typeof template;
  }, 200_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('synthesizes the app offline, without Docker or AWS credentials', () => {
    const types = Object.values(template.Resources).map((resource) => resource.Type);
    expect(types.filter((type) => type === 'AWS::DynamoDB::Table')).toHaveLength(TABLE_KEYS.length);
    expect(types).toContain('AWS::S3::Bucket');
  });

  it("bundles into each Lambda only SDK commands that function's role allows", async () => {
    // Mappa's own functions (not CDK's custom-resource handlers), with their esbuild bundles.
    const functions = Object.entries(template.Resources).filter(
      ([, resource]) =>
        resource.Type === 'AWS::Lambda::Function' &&
        /^Mappa\/(Ingestion|Serving)\//.test(resource.Metadata?.['aws:cdk:path'] ?? ''),
    );
    // The preprocess function and one per API concern (posted events go through Firehose, no Lambda of ours).
    expect(functions).toHaveLength(API_FUNCTIONS.length + 1);
    const roleOf = (resource: TemplateResource) =>
      (resource.Properties?.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const bucketId = Object.entries(template.Resources).find(
      ([, resource]) => resource.Type === 'AWS::S3::Bucket' && resource.Properties?.VersioningConfiguration,
    )?.[0] as string;
    const policies = policiesFromTemplate({
      template: template as SynthesizedTemplate,
      roleLogicalIds: Object.fromEntries(functions.map(([id, resource]) => [id, roleOf(resource)])),
      bucketNames: { [bucketId]: 'data-bucket' },
      region: 'us-east-1',
    });

    const findings: Record<string, unknown> = {};
    for (const [id, resource] of functions) {
      const assetPath = resource.Metadata?.['aws:asset:path'] as string;
      const code = readFileSync(join(out, assetPath, 'index.js'), 'utf8');
      // The local IAM double (AGPL iam-simulate) never ships in a deployed bundle.
      expect(code).not.toContain('@cloud-copilot');
      const { known, unknown } = sdkCommandsInBundle(code);
      expect(known.length).toBeGreaterThan(0);
      const missing = await commandsNotAllowed(policies, id, known, 'data-bucket');
      if (unknown.length > 0 || missing.length > 0) findings[id] = { unknown, missing };
    }
    // Assess: every command of every bundle is granted to that bundle's role.
    expect(findings).toEqual({});
  });
});
