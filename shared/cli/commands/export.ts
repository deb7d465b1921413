import type { Command } from 'commander';
import { exportRecommendations, type ExportResult } from '../../serving/batch-export';
import { s3ModelSource } from '../../serving/model-store';
import { CliError, parseIntegerOption, runAction } from '../errors';
import { openLocalServices } from '../local-services';
import { createProgress } from '../progress';
import { type StackFlags, withStackFlags } from './local';

interface ExportFlags extends StackFlags {
  limit: number;
  segment?: string;
  json?: boolean;
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
      .option('--json', 'print the result as JSON'),
  ).action(
    runAction(async (flags: ExportFlags) => {
      const services = await openLocalServices(flags);
      try {
        const source = s3ModelSource(services.s3, services.names.dataBucket);
        const manifest = await source.manifest();
        if (!manifest) throw new CliError('no model has been trained yet: run `mappa train` first');
        const model = await source.load(manifest);
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
