import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMappa } from '../support/cli';

describe('mappa demo (the README’s main command)', () => {
  it('runs stack → synthetic data → drop-folder ingestion → training on a tiny dataset and exits', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mappa-demo-'));
    try {
      const result = runMappa([
        'demo',
        '--exit',
        '--preset',
        'tiny',
        '--data-dir',
        dir,
        '--s3-port',
        '0',
        '--dynamodb-port',
        '0',
      ]);

      expect(result.status).toBe(0);
      expect(result.stdout).toContain('[1] Starting the embedded S3 and DynamoDB stack');
      expect(result.stdout).toMatch(
        /Ingested incoming\/interactions\/interactions\/interactions\.csv \(interactions\)/,
      );
      expect(result.stdout).toMatch(/rows in\s+1,386/);
      expect(result.stdout).toMatch(/^\s+model\s+\d\.\d{4}/m);
      expect(result.stdout).toMatch(/^\s+popularity\s+\d\.\d{4}/m);
      expect(result.stdout).toMatch(/(Promoted|Not promoted) model v\d{8}T\d{6}Z-/);
      expect(existsSync(join(dir, 'demo-data', 'interactions.csv'))).toBe(true);
      expect(readdirSync(join(dir, 's3', 'mappa-data'))).toEqual(
        expect.arrayContaining(['curated', 'models', 'reports']),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails with a clear message for a bad --data path, before starting anything', () => {
    const result = runMappa([
      'demo',
      '--exit',
      '--data',
      '/nonexistent/data',
      '--s3-port',
      '0',
      '--dynamodb-port',
      '0',
    ]);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe("mappa: --data path '/nonexistent/data' does not exist\n");
    expect(result.stdout).toBe('');
  });
});
