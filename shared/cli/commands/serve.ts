import { randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Command } from 'commander';
import { readJsonIfExists } from '../../aws/s3-objects';
import { DATA_LAKE_PREFIXES } from '../../resources/definitions';
import { artifactKey, MANIFEST_KEY, type ModelManifest } from '../../contracts/artifacts';
import { startLocalApi } from '../../local/api-server';
import { localApiDeps } from '../../local/api-wiring';
import { createLogger, type LogLevel } from '../../observability/logger';
import { CliError, parseIntegerOption, runAction } from '../errors';
import { openLocalServices } from '../local-services';
import { type StackFlags, withStackFlags } from './local';

interface ServeFlags extends StackFlags {
  port: number;
  apiKey?: string;
  rate: number;
  burst: number;
  modelRecheckSeconds: number;
  logLevel: LogLevel;
}

/** A user and an item the served model knows (its most active user, its first item), for the printed examples. */
async function exampleIds(
  s3: S3Client,
  bucket: string,
): Promise<{ userId: string; itemId: string } | undefined> {
  const manifest = await readJsonIfExists<ModelManifest>(s3, bucket, MANIFEST_KEY);
  if (!manifest) return undefined;
  const [report, itemIds] = await Promise.all([
    readJsonIfExists<{ activeUsers?: string[] }>(
      s3,
      bucket,
      `${DATA_LAKE_PREFIXES.reports}training/${manifest.version}.json`,
    ),
    readJsonIfExists<string[]>(s3, bucket, artifactKey(manifest.version, 'itemIds')),
  ]);
  const userId = report?.activeUsers?.[0];
  const itemId = itemIds?.[0];
  return userId && itemId
    ? { userId: encodeURIComponent(userId), itemId: encodeURIComponent(itemId) }
    : undefined;
}

/** The curl commands that reproduce a few calls against the local API. */
export function curlExamples(url: string, apiKey: string, userId: string, itemId: string): string[] {
  const key = `-H 'x-api-key: ${apiKey}'`;
  const [user, item] = [encodeURIComponent(userId), encodeURIComponent(itemId)];
  const json = (value: unknown) => JSON.stringify(value).replace(/'/g, "'\\''");
  return [
    `curl -s ${key} '${url}/v1/users/${user}/recommendations?limit=5'`,
    `curl -s ${key} '${url}/v1/items/${item}/similar?limit=5'`,
    `curl -s ${key} -H 'content-type: application/json' -d '${json({ itemIds: [itemId] })}' '${url}/v1/users/${user}/rank'`,
    `curl -s ${key} -H 'content-type: application/json' -d '${json({ userId, itemId, eventType: 'purchase', value: 9.99 })}' '${url}/v1/events'`,
    `curl -s ${key} '${url}/v1/model'`,
  ];
}

function parseLogLevel(raw: string): LogLevel {
  if (raw === 'debug' || raw === 'info' || raw === 'warn' || raw === 'error') return raw;
  throw new CliError(`--log-level must be debug, info, warn or error, got '${raw}'`, 2);
}

export function registerServeCommand(program: Command): void {
  withStackFlags(
    program
      .command('serve')
      .description(
        'serve the recommendation API locally: the API Lambda handlers behind an API Gateway-like server',
      )
      .option(
        '--port <port>',
        'HTTP port on 127.0.0.1 (0 = any free port)',
        parseIntegerOption('--port', 0, 65535),
        3000,
      )
      .option('--api-key <key>', 'the x-api-key clients must send (default: $MAPPA_API_KEY or a random key)')
      .option(
        '--rate <n>',
        'usage-plan rate limit, requests per second',
        parseIntegerOption('--rate', 1),
        100,
      )
      .option('--burst <n>', 'usage-plan burst', parseIntegerOption('--burst', 1), 200)
      .option(
        '--model-recheck-seconds <n>',
        'how often to look for a newly promoted model',
        parseIntegerOption('--model-recheck-seconds', 1, 86_400),
        10,
      )
      .option(
        '--log-level <level>',
        'debug | info (one JSON line per request) | warn | error',
        parseLogLevel,
        'warn',
      ),
  ).action(
    runAction(async (flags: ServeFlags) => {
      const apiKey = flags.apiKey ?? process.env.MAPPA_API_KEY ?? randomBytes(12).toString('hex');
      const services = await openLocalServices(flags);
      const log = createLogger({
        service: 'mappa-api',
        level: flags.logLevel,
      });
      let api;
      try {
        api = await startLocalApi({
          port: flags.port,
          apiKey,
          depsFor: localApiDeps(services, {
            modelRecheckSeconds: flags.modelRecheckSeconds,
            log,
            writeMetrics: () => undefined,
          }),
          rateLimit: { requestsPerSecond: flags.rate, burst: flags.burst },
        });
      } catch (error) {
        await services.stop();
        if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
          throw new CliError(`port ${flags.port} is already in use; pass --port <free port> (0 picks one)`);
        }
        throw error;
      }
      const examples = await exampleIds(services.s3, services.names.dataBucket);
      process.stdout.write(
        [
          `Mappa API on ${api.url}  (x-api-key: ${apiKey})`,
          'Try:',
          ...(examples
            ? curlExamples(api.url, apiKey, examples.userId, examples.itemId).map((line) => `  ${line}`)
            : ['  (no model yet: run `mappa train`, then ask for a user the data has)']),
          'Press Ctrl-C to stop.',
          '',
        ].join('\n'),
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      await api.close();
      // Posted events still in the delivery buffer go to the drop folder now rather than at the next start.
      await services.deliverEvents();
      await services.stop();
    }),
  );
}
