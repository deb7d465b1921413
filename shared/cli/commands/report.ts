import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { buildReport } from '../../report/build-report';
import { collectReportData } from '../../report/collect';
import { requireOutputFile, runAction } from '../errors';
import { type LocalServices, openLocalServices } from '../local-services';
import { type StackFlags, withStackFlags } from './local';

interface ReportFlags extends StackFlags {
  out: string;
}

export const DEFAULT_REPORT_PATH = 'reports/latest.html';

/** Collects the report's data from the local stack and writes the HTML file; returns its absolute path. */
export async function writeReport(
  services: Pick<LocalServices, 's3' | 'dynamoDb' | 'names'>,
  out: string,
): Promise<string> {
  const data = await collectReportData({
    s3: services.s3,
    dynamoDb: services.dynamoDb,
    bucket: services.names.dataBucket,
    experimentsTable: services.names.tables.experiments,
    attributionTable: services.names.tables.attribution,
  });
  const path = resolve(out);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, buildReport(data));
  return path;
}

export function registerReportCommand(program: Command): void {
  withStackFlags(
    program
      .command('report')
      .description(
        'write the evaluation report (training curves, model vs baselines, segments, propensity, experiment, ingestion) as one offline HTML file',
      )
      .option('--out <file>', 'where to write it', DEFAULT_REPORT_PATH),
  ).action(
    runAction(async (flags: ReportFlags) => {
      requireOutputFile(flags.out, '--out');
      const services = await openLocalServices(flags);
      try {
        process.stdout.write(`Report written to ${await writeReport(services, flags.out)}\n`);
      } finally {
        await services.stop();
      }
    }),
  );
}
