import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Command } from 'commander';
import { createS3Client } from '../../aws/clients';
import { uploadFile } from '../../aws/upload';
import type { IngestionReport } from '../../ingest/ingestion-types';
import { reportKey, rootMappingKey } from '../../ingest/layout';
import { misplacedMappingField, parseMapping } from '../../ingest/mapping';
import { readTextIfExists } from '../../aws/s3-objects';
import { LOCAL_CREDENTIALS, LOCAL_REGION, readDeadLetters } from '../../local/embedded-stack';
import { registerPreprocessHandler } from '../../local/preprocess-wiring';
import { processAlive, readLocalState } from '../../local/state-file';
import { createLogger } from '../../observability/logger';
import { DATASETS, type Dataset, incomingPrefix } from '../../resources/definitions';
import { CliError, parseIntegerOption, runAction } from '../errors';
import { type StackFlags, startStackFromFlags, withStackFlags } from './local';

interface IngestFlags extends StackFlags {
  dataset: string;
  mapping?: string;
  json?: boolean;
  timeout: number;
}

/** Exit code when the whole file was rejected (quarantined, or no row accepted). */
export const EXIT_FILE_REJECTED = 4;

/**
 * Puts the `--mapping` beside the upload; its `events` policy (interactions) goes into the dataset's own
 * `incoming/interactions/_mapping.json` instead — the one policy training reads for all interactions — merged
 * into whatever that mapping already says.
 */
async function placeMapping(
  s3: S3Client,
  bucket: string,
  dataset: Dataset,
  mappingKey: string,
  mappingText: string,
): Promise<void> {
  const { events, ...forThisFile } = JSON.parse(mappingText) as Record<string, unknown>;
  if (events !== undefined) {
    const rootKey = rootMappingKey(dataset);
    const existing = await readTextIfExists(s3, bucket, rootKey);
    const root = existing === undefined ? {} : (JSON.parse(existing) as Record<string, unknown>);
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: rootKey,
        Body: JSON.stringify({ ...root, events }, null, 2),
      }),
    );
  }
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: mappingKey, Body: JSON.stringify(forThisFile) }));
}

/** Where a CLI upload goes: its own folder, so its mapping applies to it alone. */
export function dropKeys(
  dataset: Dataset,
  filePath: string,
): { dataKey: string; mappingKey: string; relativeKey: string; reportKey: string } {
  const name = basename(filePath);
  const folder = name.replace(/\.(gz)$/i, '').replace(/\.[^.]+$/, '') || name;
  const relativeKey = `${folder}/${name}`;
  return {
    dataKey: `${incomingPrefix(dataset)}${relativeKey}`,
    mappingKey: `${incomingPrefix(dataset)}${folder}/_mapping.json`,
    relativeKey,
    reportKey: reportKey({ dataset, relativeKey }),
  };
}

/** One readable summary of an ingestion report. */
export function formatReport(report: IngestionReport, seconds: number): string {
  const number = (n: number) => n.toLocaleString('en-US').padStart(12);
  const lines = [
    `${report.status === 'quarantined' ? 'Quarantined' : report.status === 'partial' ? 'Partly ingested' : 'Ingested'} ${report.source.key} (${report.dataset}) in ${seconds.toFixed(1)} s`,
  ];
  if (report.unreadable) {
    lines.push(
      `  unreadable ${report.unreadable.reason}: ${report.unreadable.message}; nothing was read from line ${report.unreadable.after_line} on`,
    );
    lines.push(`  file kept  s3://${report.source.bucket}/${report.unreadable.object}`);
  }
  if (report.quarantine) {
    lines.push(`  reason     ${report.quarantine.reason}: ${report.quarantine.message}`);
    lines.push(`  file kept  s3://${report.source.bucket}/${report.quarantine.object}`);
  } else {
    lines.push(`  rows in    ${number(report.rows_in)}`);
    lines.push(`  accepted   ${number(report.accepted)}`);
    lines.push(`  duplicates ${number(report.duplicates)}`);
    lines.push(`  rejected   ${number(report.rejected)}`);
    for (const [reason, count] of Object.entries(report.rejected_by_reason)) {
      lines.push(`    ${reason.padEnd(24)} ${number(count ?? 0)}`);
    }
    const unknown = Object.entries(report.unknown_event_types);
    if (unknown.length > 0) {
      lines.push(
        `  unknown event types (accepted): ${unknown.map(([type, n]) => `${type} (${n.toLocaleString('en-US')})`).join(', ')}`,
      );
    }
    if (report.outputs.rejected_rows)
      lines.push(`  rejected rows  s3://${report.source.bucket}/${report.outputs.rejected_rows}`);
  }
  lines.push(`  report     s3://${report.source.bucket}/${report.outputs.report}`);
  return lines.join('\n');
}

/** The ingestion report at `key` if it is for this object version (`etag`), else undefined. */
export async function readReport(
  s3: S3Client,
  bucket: string,
  key: string,
  etag: string,
): Promise<IngestionReport | undefined> {
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const report = JSON.parse((await object.Body?.transformToString('utf8')) ?? '{}') as IngestionReport;
    return report.source?.etag === etag ? report : undefined;
  } catch (error) {
    if (error instanceof NoSuchKey) return undefined;
    // Read while the stack was still writing it (a cut-off body, half the JSON): the next poll reads it whole.
    if (
      error instanceof SyntaxError ||
      (error instanceof Error && /aborted|ECONNRESET|socket hang up/i.test(error.message))
    )
      return undefined;
    throw error;
  }
}

export function registerIngestCommand(program: Command): void {
  withStackFlags(
    program
      .command('ingest')
      .description(
        'drop a file into the local drop folder, wait for preprocessing, print the ingestion report',
      )
      .argument('<file>', 'CSV, TSV or JSON Lines file, optionally .gz')
      .requiredOption('--dataset <name>', `dataset: ${DATASETS.join(' | ')}`)
      .option(
        '--mapping <file>',
        'a _mapping.json for this file (renames, delimiter, header, timestamp format)',
      )
      .option('--json', 'print the ingestion report as JSON')
      .option(
        '--timeout <seconds>',
        'how long to wait for a running local stack to finish',
        parseIntegerOption('--timeout', 1, 86_400),
        1800,
      ),
  ).action(
    runAction(async (file: string, flags: IngestFlags) => {
      if (!DATASETS.includes(flags.dataset as Dataset)) {
        throw new CliError(`--dataset must be one of ${DATASETS.join(', ')}, got '${flags.dataset}'`, 2);
      }
      const dataset = flags.dataset as Dataset;
      if (!existsSync(file) || !statSync(file).isFile())
        throw new CliError(`file '${file}' does not exist or is not a file`, 2);
      let mappingText: string | undefined;
      if (flags.mapping) {
        if (!existsSync(flags.mapping))
          throw new CliError(`--mapping file '${flags.mapping}' does not exist`, 2);
        mappingText = readFileSync(flags.mapping, 'utf8');
        try {
          const misplaced = misplacedMappingField(parseMapping(mappingText), dataset, true);
          if (misplaced) throw new Error(misplaced);
        } catch (error) {
          throw new CliError(
            `--mapping ${flags.mapping}: ${error instanceof Error ? error.message : String(error)}`,
            2,
          );
        }
      }
      const keys = dropKeys(dataset, file);
      const started = Date.now();
      const running = readLocalState(flags.dataDir);
      let report: IngestionReport;
      if (running && processAlive(running.pid)) {
        // A `mappa local up` process owns the handler: upload and wait for its report.
        const s3 = createS3Client(
          { endpoint: running.s3Endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS },
          {},
        );
        const bucket = running.dataBucket;
        if (mappingText !== undefined) await placeMapping(s3, bucket, dataset, keys.mappingKey, mappingText);
        const uploadedAt = new Date().toISOString();
        const etag = await uploadFile(s3, bucket, keys.dataKey, file);
        const deadline = Date.now() + flags.timeout * 1000;
        let found: IngestionReport | undefined;
        while (!(found = await readReport(s3, bucket, keys.reportKey, etag))) {
          // The local stack's dead-letter queue: preprocessing gave up on this file, no report will come.
          const failed = readDeadLetters(flags.dataDir, uploadedAt).find(
            (letter) => letter.key === keys.dataKey,
          );
          if (failed)
            throw new CliError(`preprocessing failed after ${failed.attempts} attempts: ${failed.error}`);
          if (Date.now() > deadline)
            throw new CliError(`no ingestion report after ${flags.timeout} s; see the 'mappa local up' log`);
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
        report = found;
      } else {
        const stack = await startStackFromFlags(flags);
        try {
          registerPreprocessHandler(stack, {
            log: createLogger({
              service: 'mappa-preprocess',
              level: 'warn',
            }),
          });
          const bucket = stack.names.dataBucket;
          if (mappingText !== undefined)
            await placeMapping(stack.s3, bucket, dataset, keys.mappingKey, mappingText);
          const etag = await uploadFile(stack.s3, bucket, keys.dataKey, file);
          await stack.drainEvents();
          const failure = stack.deadLetters.at(-1);
          if (failure)
            throw new CliError(`preprocessing failed after ${failure.attempts} attempts: ${failure.error}`);
          const found = await readReport(stack.s3, bucket, keys.reportKey, etag);
          if (!found) throw new CliError('preprocessing finished without writing a report');
          report = found;
        } finally {
          await stack.stop();
        }
      }
      const seconds = (Date.now() - started) / 1000;
      process.stdout.write(
        flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report, seconds)}\n`,
      );
      // Exit 4 when the file did not get in (whole or in part): a script must not take it as done.
      if (
        report.status !== 'completed' ||
        (report.rows_in > 0 && report.accepted + report.duplicates === 0)
      ) {
        process.exitCode = EXIT_FILE_REJECTED;
      }
    }),
  );
}
