import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TABLE_KEYS } from '../../shared/resources/definitions';

describe('npx cdk synth', () => {
  it('synthesizes the app offline, without Docker or AWS credentials', () => {
    // Prepare: an environment with no AWS credentials or profile at all.
    const out = mkdtempSync(join(tmpdir(), 'mappa-cdk-out-'));
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('AWS_')));
    try {
      // Act
      execFileSync('npx', ['cdk', 'synth', '--quiet', '--output', out], {
        env: { ...env, CDK_DISABLE_VERSION_CHECK: 'true', CDK_DISABLE_CLI_TELEMETRY: 'true' },
        stdio: 'pipe',
        timeout: 120_000,
      });

      // Assess
      const templatePath = join(out, 'Mappa.template.json');
      expect(existsSync(templatePath)).toBe(true);
      const template = JSON.parse(readFileSync(templatePath, 'utf8')) as {
        Resources: Record<string, { Type: string }>;
      };
      const types = Object.values(template.Resources).map((resource) => resource.Type);
      expect(types.filter((type) => type === 'AWS::DynamoDB::Table')).toHaveLength(TABLE_KEYS.length);
      expect(types).toContain('AWS::S3::Bucket');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
