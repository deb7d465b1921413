import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => existsSync(path));

/**
 * Renders a local HTML file in headless Debian Chromium (no network, empty
 * profile) and returns the DOM after scripts ran plus a screenshot.
 */
export function renderInChromium(file: string): { dom: string; screenshot: Buffer } {
  if (!CHROMIUM) {
    throw new Error('Chromium is not installed: `apt-get install -y chromium` (.ci/run does this in CI)');
  }
  const profile = mkdtempSync(join(tmpdir(), 'mappa-chromium-'));
  const flags = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    `--user-data-dir=${profile}`,
    '--window-size=1200,3000',
    '--virtual-time-budget=5000',
  ];
  try {
    const dom = spawnSync(CHROMIUM, [...flags, '--dump-dom', `file://${file}`], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (dom.status !== 0) throw new Error(`chromium --dump-dom failed (${dom.status}): ${dom.stderr}`);
    const png = join(profile, 'screenshot.png');
    const shot = spawnSync(CHROMIUM, [...flags, `--screenshot=${png}`, `file://${file}`], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (shot.status !== 0 || !existsSync(png))
      throw new Error(`chromium --screenshot failed: ${shot.stderr}`);
    return { dom: dom.stdout, screenshot: readFileSync(png) };
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}
