import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderInChromium } from '../support/chromium';
import { runMappa } from '../support/cli';

describe('mappa demo (the README’s main command)', () => {
  it('runs stack → synthetic data → drop-folder ingestion → training on a compact dataset and exits', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mappa-demo-'));
    try {
      const result = runMappa([
        'demo',
        '--exit',
        // The smallest preset on which the model passes the quality gate every run (tiny's margin is
        // within TF.js's run-to-run variation), so the tour always has a promoted model to call.
        '--preset',
        'compact',
        '--data-dir',
        dir,
        '--s3-port',
        '0',
        '--dynamodb-port',
        '0',
        '--port',
        '0',
        '--report',
        join(dir, 'latest.html'),
      ]);

      expect(result.status).toBe(0);
      expect(result.stdout).toContain('[1] Starting the embedded S3 and DynamoDB stack');
      expect(result.stdout).toMatch(
        /Ingested incoming\/interactions\/interactions\/interactions\.csv \(interactions\)/,
      );
      expect(result.stdout).toMatch(/rows in\s+8,771/);
      expect(result.stdout).toMatch(/Promoted model v\d{8}T\d{6}Z-/);
      expect(result.stdout).toMatch(/^\s+model\s+\d\.\d{4}/m);
      expect(result.stdout).toMatch(/^\s+popularity\s+\d\.\d{4}/m);
      // Step 5: the API, called over HTTP, with the curl commands that reproduce each call.
      expect(result.stdout).toMatch(
        /\[5\] Serving the API on http:\/\/127\.0\.0\.1:\d+ \(x-api-key: [0-9a-f]{16}\)/,
      );
      expect(result.stdout).toMatch(
        /\$ curl -s -H 'x-api-key: [0-9a-f]{16}' 'http:\/\/127\.0\.0\.1:\d+\/v1\/users\/u\d+\/recommendations\?limit=5'/,
      );
      expect(result.stdout).toMatch(/u\d+ \(personalized\):\n\s+1\. i\d+\s+-?\d+\.\d{3}\s+because you \w/);
      expect(result.stdout).toMatch(/brand-new-visitor \(cold_start\):\n\s+1\. i\d+/);
      expect(result.stdout).toMatch(/items similar to i\d+:\n\s+1\. i\d+/);
      expect(result.stdout).toMatch(/\d customer segments:\n\s+S1\s+\d+ users\s+\w+/);
      expect(result.stdout).toMatch(/purchase propensity \d+\.\d%, decile \d+/);
      expect(result.stdout).toMatch(/popular\s+\d+ users\s+conversion \d+\.\d%.*\(control\)/);
      expect(result.stdout).toMatch(/personalized\s+\d+ users\s+conversion .* lift -?\d+% \(95% CI/);
      // Business rules: a named filter, a promotion, attribution, a new item, a user forgotten.
      expect(result.stdout).toMatch(/u\d+ with filter affordable \(MAX_PRICE=25\):\n\s+1\. i\d+/);
      expect(result.stdout).toMatch(/\[promoted: premium\]/);
      expect(result.stdout).toMatch(/all lists\s+\d+ impressions\s+\d+ clicks\s+CTR \d+\.\d% \(95% CI/);
      // Listed after training: in the list by its score or in an exploration slot (marked new).
      expect(result.stdout).toMatch(/new-arrival-\d\s+-?\d+\.\d{3}\s+(new|because you)/);
      expect(result.stdout).toMatch(/items similar to the new new-arrival-1:\n\s+1\. /);
      expect(result.stdout).toMatch(/forgot u\d+: feature record deleted, \d+ recent interactions/);
      expect(result.stdout).toMatch(/u\d+ is now served as cold_start/);
      expect(result.stdout).toMatch(/campaign effect \+\d+\.\d pts \(95% CI/);
      expect(result.stdout).toMatch(/uplift model \w+: Qini 0\.\d{3} vs propensity targeting -?\d\.\d{3}/);
      expect(result.stdout).toMatch(
        /grocery × loyal\s+elasticity -0\.\d\d \(true -0\.6\)\s+(raise|cut|keep)/,
      );
      expect(existsSync(join(dir, 'demo-data', 'interactions.csv'))).toBe(true);
      // The whole run was under each deployable's synthesized IAM role, with nothing denied; the record says
      // what every role used.
      expect(result.stdout).toContain(
        `    ${join(dir, 'iam-usage.md')} (every AWS call each deployable made`,
      );
      const usage = readFileSync(join(dir, 'iam-usage.md'), 'utf8');
      for (const deployable of [
        'preprocess',
        'train',
        'api-recommendations',
        'api-similar-items',
        'api-events',
        'api-filters',
        'api-privacy',
      ]) {
        expect(usage).toContain(`## ${deployable}\n`);
      }
      expect(usage).not.toContain('**denied**');

      // Step 6: the report, rendered in headless Chromium: every chart drew, no page errors.
      expect(result.stdout).toContain(`[7] Writing the evaluation report\n    ${join(dir, 'latest.html')}`);
      const { dom, screenshot } = renderInChromium(join(dir, 'latest.html'));
      const canvases = [...dom.matchAll(/<canvas id="([\w-]+)"[^>]*>/g)];
      expect(canvases.map((match) => match[1])).toEqual([
        'chart-training',
        'chart-quality',
        'chart-segments',
        'chart-roc',
        'chart-calibration',
        'chart-experiment',
        'chart-attribution',
        'chart-qini',
        'chart-uplift-deciles',
        'chart-demand',
        'chart-price-profit',
        'chart-ingestion',
      ]);
      for (const match of canvases) expect(match[0]).toContain('data-drawn="true"');
      expect(dom).toContain('<div id="errors"></div>');
      expect(dom).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)[^"'\s]*\.(js|css)/); // nothing fetched from the network
      expect(screenshot.subarray(1, 4).toString()).toBe('PNG');
      expect(screenshot.length).toBeGreaterThan(50_000);
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
