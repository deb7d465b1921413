import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { evaluatePricing, type PriceColumns, type PriceEvalResult } from '../../marketing/pricing';
import { parseCsvTable, TableError } from '../../marketing/tabular';
import { alignedTable } from '../metrics-table';
import { CliError, requireInputFile, runAction } from '../errors';

interface PriceEvalFlags extends Partial<PriceColumns> {
  csv: string;
  bounds: number;
  json?: boolean;
}

const percent = (value: number, digits = 1) => `${value >= 0 ? '+' : ''}${(value * 100).toFixed(digits)}%`;

/** Elasticities and recommended prices per category × segment, warnings under the table. */
export function formatPriceEval(result: PriceEvalResult): string {
  const rows = result.groups.map((group) => [
    group.category,
    group.segment,
    `${group.elasticity.estimate.toFixed(2)} [${group.elasticity.ci95.map((value) => value.toFixed(2)).join(', ')}]`,
    String(group.cells),
    group.costShare === null ? '–' : `${(group.costShare * 100).toFixed(0)}%`,
    group.decision === 'keep' ? 'keep' : `${group.decision} ${percent(group.priceMultiplier - 1)}`,
    `${percent(group.expectedChange.estimate)} [${group.expectedChange.ci95.map((value) => percent(value)).join(', ')}]`,
  ]);
  const objective = result.groups.some((group) => group.objective === 'profit') ? 'profit' : 'revenue';
  const warnings = [
    ...result.groups
      .filter((group) => group.warning)
      .map((group) => `  ${group.category} × ${group.segment}: ${group.warning}`),
    ...result.unidentified.map((group) => `  ${group.category} × ${group.segment}: ${group.reason}`),
  ];
  return [
    `${result.rows} rows → ${result.cells} item-weeks with sales over ${result.weeks} weeks; recommended moves within ±${(result.bounds * 100).toFixed(0)}%`,
    '',
    ...alignedTable(
      [
        'category',
        'segment',
        'elasticity [95% CI]',
        'item-weeks',
        'cost share',
        'price',
        `expected ${objective} change [95% CI]`,
      ],
      rows,
    ),
    ...(warnings.length > 0 ? ['', 'kept where the data is too thin to decide:', ...warnings] : []),
    '',
    'Elasticity: % change in units per 1% change in price (log-log demand, item and week fixed effects, errors clustered by item).',
  ].join('\n');
}

export function registerPriceEvalCommand(program: Command): void {
  program
    .command('price-eval')
    .description(
      'estimate price elasticity per category and customer segment from purchase history, and recommend the price (or discount) that maximises profit — revenue without costs — within bounds',
    )
    .requiredOption('--csv <file>', 'purchases or weekly sales with prices paid (CSV with a header row)')
    .option(
      '--bounds <share>',
      'largest recommended price move, as a share of the current price',
      parseShare,
      0.2,
    )
    .option('--item <column>', 'item column (default: item_id, item or sku)')
    .option('--price <column>', 'price paid per unit (default: price, event_value or price_paid)')
    .option('--time <column>', 'week number, Unix time or date (default: week, date or timestamp)')
    .option('--category <column>', 'item category (default: category; none = one category)')
    .option('--segment <column>', 'customer segment (default: segment; none = one segment)')
    .option('--quantity <column>', 'units per row (default: quantity, units or qty; none = 1 per row)')
    .option('--cost <column>', 'unit cost, for profit instead of revenue (default: cost or unit_cost)')
    .option('--json', 'print the results as JSON')
    .action(
      runAction(async (flags: PriceEvalFlags) => {
        requireInputFile(flags.csv, '--csv');
        const names = ['item', 'price', 'time', 'category', 'segment', 'quantity', 'cost'] as const;
        const columns = Object.fromEntries(
          names.filter((name) => flags[name] !== undefined).map((name) => [name, flags[name]]),
        ) as Partial<PriceColumns>;
        let result: PriceEvalResult;
        try {
          result = evaluatePricing(parseCsvTable(readFileSync(flags.csv, 'utf8')), {
            columns,
            bounds: flags.bounds,
          });
        } catch (error) {
          if (error instanceof TableError) throw new CliError(error.message, 2);
          throw error;
        }
        process.stdout.write(
          flags.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatPriceEval(result)}\n`,
        );
      }),
    );
}

function parseShare(raw: string): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || value >= 1) {
    throw new CliError(`--bounds must be a share between 0 and 1 (0.2 = ±20%), got '${raw}'`, 2);
  }
  return value;
}
