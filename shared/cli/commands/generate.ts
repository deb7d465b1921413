import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { SYNTHETIC_PRESETS, type SyntheticConfig, type SyntheticPreset } from '../../synthetic/generator';
import { generateCampaign } from '../../synthetic/campaign';
import { syntheticImpressionLog } from '../../synthetic/impressions';
import { generatePriceHistory } from '../../synthetic/price-history';
import { writeSyntheticDataset } from '../../synthetic/write-files';
import { CliError, parseIntegerOption, requireOutputDirectory, runAction } from '../errors';
import { createProgress } from '../progress';

interface GenerateFlags {
  preset: string;
  out: string;
  seed?: number;
  users?: number;
  items?: number;
  interactions?: number;
  gzip?: boolean;
  json?: boolean;
  impressions?: number;
  campaign?: number;
  prices?: boolean;
}

/** Resolves a preset name plus overrides into a generator config. */
export function syntheticConfigFrom(flags: Omit<GenerateFlags, 'out'>): SyntheticConfig {
  if (!(flags.preset in SYNTHETIC_PRESETS)) {
    throw new CliError(
      `--preset must be one of ${Object.keys(SYNTHETIC_PRESETS).join(', ')}, got '${flags.preset}'`,
      2,
    );
  }
  const preset = SYNTHETIC_PRESETS[flags.preset as SyntheticPreset];
  return {
    seed: flags.seed ?? preset.seed,
    users: flags.users ?? preset.users,
    items: flags.items ?? preset.items,
    interactions: flags.interactions ?? preset.interactions,
  };
}

export function registerGenerateCommand(program: Command): void {
  program
    .command('generate')
    .description(
      'write a synthetic marketing dataset (interactions, users, items, campaigns) as canonical CSV',
    )
    .option('--preset <name>', `size preset: ${Object.keys(SYNTHETIC_PRESETS).join(', ')}`, 'small')
    .option('--out <dir>', 'output directory', '.mappa/synthetic')
    .option('--seed <n>', 'random seed', parseIntegerOption('--seed'))
    .option('--users <n>', 'number of users', parseIntegerOption('--users', 1))
    .option('--items <n>', 'number of items', parseIntegerOption('--items', 2))
    .option(
      '--interactions <n>',
      'target number of interaction rows',
      parseIntegerOption('--interactions', 1),
    )
    .option(
      '--impressions <n>',
      'also write impressions.csv: an impression log with clicks for `mappa ctr-eval` (label column clicked)',
      parseIntegerOption('--impressions', 50),
    )
    .option(
      '--campaign <n>',
      'also write campaign.csv: a randomized e-mail campaign of n customers with a known uplift, for `mappa uplift-eval` (treatment column group, control value control, outcome purchased)',
      parseIntegerOption('--campaign', 100),
    )
    .option(
      '--prices',
      'also write price-history.csv: weekly sales of items whose prices move, with known elasticities per category and segment, for `mappa price-eval`',
    )
    .option('--gzip', 'write .csv.gz files')
    .option('--json', 'print the written files as JSON')
    .action(
      runAction(async (flags: GenerateFlags) => {
        const config = syntheticConfigFrom(flags);
        requireOutputDirectory(flags.out, '--out');
        const progress = createProgress('generating interactions', config.interactions);
        const files = await writeSyntheticDataset(flags.out, config, {
          ...(flags.gzip ? { gzip: true } : {}),
          onProgress: (rows) => progress.update(Math.min(rows, config.interactions)),
          progressEvery: 50_000,
        });
        progress.stop();
        const written: Record<string, { path: string; rows: number }> = { ...files };
        if (flags.impressions) {
          const path = join(flags.out, 'impressions.csv');
          writeFileSync(
            path,
            syntheticImpressionLog({
              users: Math.min(config.users, 2_000),
              items: Math.min(config.items, 1_000),
              impressions: flags.impressions,
              seed: config.seed,
            }).csv,
          );
          written.impressions = { path, rows: flags.impressions };
        }
        if (flags.campaign) {
          const path = join(flags.out, 'campaign.csv');
          writeFileSync(path, generateCampaign({ rows: flags.campaign, seed: config.seed }).csv);
          written.campaign = { path, rows: flags.campaign };
        }
        if (flags.prices) {
          const path = join(flags.out, 'price-history.csv');
          const history = generatePriceHistory({ seed: config.seed });
          writeFileSync(path, history.csv);
          written.prices = { path, rows: history.rows };
        }
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(written, null, 2)}\n`);
          return;
        }
        for (const [name, file] of Object.entries(written)) {
          process.stdout.write(`${name.padEnd(13)} ${String(file.rows).padStart(9)} rows  ${file.path}\n`);
        }
      }),
    );
}
