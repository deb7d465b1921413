import type { Command } from 'commander';
import { EmbeddedStack } from '../../local/embedded-stack';
import { registerPreprocessHandler } from '../../local/preprocess-wiring';
import {
  clearLocalState,
  processAlive,
  readLocalState,
  stateOfRunningStack,
  writeLocalState,
} from '../../local/state-file';
import { CliError, parseIntegerOption, runAction } from '../errors';
import { type IamFlags, localIamPolicies } from '../local-iam';

export interface StackFlags extends IamFlags {
  s3Port: number;
  dynamodbPort: number;
  firehosePort?: number;
  dataDir: string;
}

/** Adds the flags every command that starts the embedded stack shares. */
export function withStackFlags(command: Command): Command {
  return command
    .option(
      '--s3-port <port>',
      'S3 port on 127.0.0.1 (0 = any free port)',
      parseIntegerOption('--s3-port', 0, 65535),
      4569,
    )
    .option(
      '--dynamodb-port <port>',
      'DynamoDB port on 127.0.0.1 (0 = any free port)',
      parseIntegerOption('--dynamodb-port', 0, 65535),
      4570,
    )
    .option(
      '--firehose-port <port>',
      'Firehose port on 127.0.0.1 (default 4571; any free port when --s3-port is 0)',
      parseIntegerOption('--firehose-port', 0, 65535),
    )
    .option('--data-dir <dir>', 'where the local stack keeps its data', '.mappa')
    .option(
      '--no-iam',
      "don't enforce each deployable's IAM policies from the synthesized CDK app (also MAPPA_LOCAL_IAM=off)",
    );
}

export async function startStackFromFlags(flags: StackFlags): Promise<EmbeddedStack> {
  const iam = await localIamPolicies(flags);
  return EmbeddedStack.start({
    s3Port: flags.s3Port,
    dynamoDbPort: flags.dynamodbPort,
    ...(flags.firehosePort !== undefined ? { firehosePort: flags.firehosePort } : {}),
    dataDir: flags.dataDir,
    ...(iam ? { iam } : {}),
  });
}

export function registerLocalCommands(program: Command): void {
  const local = program.command('local').description('run the embedded S3 + DynamoDB stack on 127.0.0.1');

  withStackFlags(
    local.command('up').description('start the local stack in the foreground (Ctrl-C stops it)'),
  ).action(
    runAction(async (flags: StackFlags) => {
      const existing = readLocalState(flags.dataDir);
      if (existing && processAlive(existing.pid)) {
        throw new CliError(
          `A local stack is already running (pid ${existing.pid}, S3 ${existing.s3Endpoint}).`,
        );
      }
      const stack = await startStackFromFlags(flags);
      registerPreprocessHandler(stack);
      writeLocalState(flags.dataDir, stateOfRunningStack(stack));
      process.stdout.write(
        [
          'Local stack is up.',
          `  S3        ${stack.s3Endpoint}  (bucket ${stack.names.dataBucket})`,
          `  DynamoDB  ${stack.dynamoDbEndpoint}  (tables ${Object.values(stack.names.tables).join(', ')})`,
          `  Firehose  ${stack.firehose.endpoint}  (stream ${stack.names.eventsStream} → incoming/interactions/api-events/)`,
          'Point any AWS SDK or CLI at it with:',
          ...Object.entries(stack.clientEnvironment()).map(([key, value]) => `  export ${key}=${value}`),
          'Files dropped under incoming/<dataset>/ are preprocessed here (try: mappa ingest <file> --dataset interactions).',
          'Press Ctrl-C to stop.',
          '',
        ].join('\n'),
      );
      await new Promise<void>((resolve) => {
        const shutdown = () => resolve();
        process.once('SIGINT', shutdown);
        process.once('SIGTERM', shutdown);
      });
      await stack.stop();
      clearLocalState(flags.dataDir);
      process.stdout.write('Local stack stopped.\n');
    }),
  );

  local
    .command('status')
    .description('show whether a local stack is running')
    .option('--data-dir <dir>', 'where the local stack keeps its data', '.mappa')
    .option('--json', 'print JSON')
    .action(
      runAction(async (flags: { dataDir: string; json?: boolean }) => {
        const state = readLocalState(flags.dataDir);
        const running = state !== undefined && processAlive(state.pid);
        if (flags.json) {
          process.stdout.write(`${JSON.stringify({ running, ...(running ? state : {}) }, null, 2)}\n`);
        } else if (running) {
          process.stdout.write(
            `running (pid ${state.pid}) S3 ${state.s3Endpoint} DynamoDB ${state.dynamoDbEndpoint}\n`,
          );
        } else {
          process.stdout.write('not running\n');
        }
        if (!running) process.exitCode = 3;
      }),
    );

  local
    .command('down')
    .description('stop a local stack started with `mappa local up`')
    .option('--data-dir <dir>', 'where the local stack keeps its data', '.mappa')
    .action(
      runAction(async (flags: { dataDir: string }) => {
        const state = readLocalState(flags.dataDir);
        if (!state || !processAlive(state.pid)) {
          clearLocalState(flags.dataDir);
          process.stdout.write('No local stack is running.\n');
          return;
        }
        process.kill(state.pid, 'SIGTERM');
        for (let waited = 0; processAlive(state.pid); waited += 100) {
          if (waited > 10_000)
            throw new CliError(`The local stack (pid ${state.pid}) did not stop within 10 s.`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        process.stdout.write(`Stopped the local stack (pid ${state.pid}).\n`);
      }),
    );
}
