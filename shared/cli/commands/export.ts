import type { Command } from 'commander';
import { exportRecommendations, type ExportResult } from '../../serving/batch-export';
import { s3ModelSource } from '../../serving/model-store';
import { checkParameters, itemMask, missingParameters } from '../../serving/filters/bound-filter';
import { parseFilterExpression } from '../../serving/filters/filter-expression';
import { getFilter } from '../../serving/filters/filter-store';
import type { AppliedFilter } from '../../serving/recommender';
import { CliError, parseIntegerOption, runAction } from '../errors';
import { openLocalServices } from '../local-services';
import { createProgress } from '../progress';
import { type StackFlags, withStackFlags } from './local';

interface ExportFlags extends StackFlags {
  limit: number;
  segment?: string;
  filter?: string;
  param: string[];
  json?: boolean;
}

/** `--param KEY=VALUE`, repeatable: a filter parameter as the API's query values give it. */
function collectParam(value: string, previous: string[]): string[] {
  if (!/^[A-Z][A-Z0-9_]*=/.test(value)) {
    throw new CliError(
      `--param takes KEY=VALUE with an upper-case KEY (e.g. CATEGORIES=books,toys), got '${value}'`,
      2,
    );
  }
  return [...previous, value];
}

export function registerExportCommand(program: Command): void {
  const exportCommand = program.command('export').description('batch exports for campaign tools');
  withStackFlags(
    exportCommand
      .command('recommendations')
      .description(
        'top-N recommendations for every user of the served model (or one segment) as CSV under exports/recommendations/<version>/',
      )
      .option('--limit <n>', 'items per user', parseIntegerOption('--limit', 1, 100), 10)
      .option('--segment <name>', 'only the users of this segment (S1, S2, … as GET /v1/segments names them)')
      .option('--filter <name>', 'a named filter (POST /v1/filters) every list must pass')
      .option('--param <KEY=VALUE>', "the filter's parameters, repeatable", collectParam, [])
      .option('--json', 'print the result as JSON'),
  ).action(
    runAction(async (flags: ExportFlags) => {
      const services = await openLocalServices(flags);
      try {
        const source = s3ModelSource(services.s3, services.names.dataBucket);
        const manifest = await source.manifest();
        if (!manifest) throw new CliError('no model has been trained yet: run `mappa train` first');
        const model = await source.load(manifest);
        const filter = flags.filter
          ? await boundFilter(
              { client: services.dynamoDb, table: services.names.tables.filters },
              flags.filter,
              flags.param,
              model.items.attributes,
            )
          : undefined;
        let progress: ReturnType<typeof createProgress> | undefined;
        let result: ExportResult;
        try {
          result = await exportRecommendations(
            {
              s3: services.s3,
              dynamoDb: services.dynamoDb,
              bucket: services.names.dataBucket,
              tables: services.names.tables,
            },
            model,
            {
              limit: flags.limit,
              ...(flags.segment ? { segment: flags.segment } : {}),
              ...(filter ? { filter } : {}),
              onProgress: (done, total) => {
                progress ??= createProgress('export', total);
                progress.update(done);
              },
            },
          );
        } catch (error) {
          if (error instanceof Error && error.message.startsWith('segment '))
            throw new CliError(error.message, 2);
          throw error;
        } finally {
          progress?.stop();
        }
        process.stdout.write(
          flags.json
            ? `${JSON.stringify(result, null, 2)}\n`
            : `Wrote ${result.rows} rows for ${result.users} users to s3://${services.names.dataBucket}/${result.key}\n`,
        );
      } finally {
        await services.stop();
      }
    }),
  );
}

/** The named filter with `--param` values bound and its item side evaluated, or a usage error naming what is wrong. */
async function boundFilter(
  table: Parameters<typeof getFilter>[0],
  name: string,
  params: readonly string[],
  items: Parameters<typeof itemMask>[2],
): Promise<AppliedFilter> {
  const stored = await getFilter(table, name);
  if (!stored) throw new CliError(`filter '${name}' does not exist (create it with POST /v1/filters)`, 2);
  const expression = parseFilterExpression(stored.expression);
  const parameters = Object.fromEntries(
    params.map((param) => [param.slice(0, param.indexOf('=')), param.slice(param.indexOf('=') + 1)]),
  );
  const [missing] = missingParameters(expression, parameters);
  if (missing) throw new CliError(`filter '${name}' needs --param ${missing}=…`, 2);
  const stray = Object.keys(parameters).find((key) => !expression.parameters.includes(key));
  if (stray) throw new CliError(`--param ${stray} is not a parameter of filter '${name}'`, 2);
  try {
    checkParameters(expression, parameters);
  } catch (error) {
    throw new CliError(`filter '${name}': ${(error as Error).message}`, 2);
  }
  const mask = itemMask(expression, parameters, items);
  return { name, expression, parameters, ...(mask ? { mask } : {}) };
}
