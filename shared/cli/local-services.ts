import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { type DeployableClients, LocalAccount } from '../local/local-account';
import { registerPreprocessHandler } from '../local/preprocess-wiring';
import type { Deployable } from '../resources/deployables';
import { localIamPolicies } from './local-iam';
import { processAlive, readLocalState } from '../local/state-file';
import type { TableKey } from '../resources/definitions';
import { type StackFlags, startStackFromFlags } from './commands/local';

/** The local bucket and tables, whether this process runs the stack or `mappa local up` does. */
export interface LocalServices {
  readonly s3: S3Client;
  readonly dynamoDb: DynamoDBClient;
  readonly names: {
    readonly dataBucket: string;
    readonly tables: Record<TableKey, string>;
    readonly eventsStream: string;
  };
  /** A deployable's clients, under its role's IAM policies unless `--no-iam`. */
  clientsFor(deployable: Deployable): DeployableClients;
  /** Whether this process started the stack (and so preprocesses drop-folder uploads itself). */
  readonly embedded: boolean;
  /**
   * Delivers buffered API events into the drop folder now and waits for their ingestion, when this
   * process runs the stack (a `mappa local up` stack delivers them on its own buffer interval).
   */
  deliverEvents(): Promise<void>;
  stop(): Promise<void>;
}

/** Connects to a running `mappa local up` stack, or starts one for this command. */
export async function openLocalServices(flags: StackFlags): Promise<LocalServices> {
  const running = readLocalState(flags.dataDir);
  if (running && processAlive(running.pid)) {
    const account = new LocalAccount(running, await localIamPolicies(flags));
    const { s3, dynamoDb, firehose } = account.operatorClients();
    return {
      s3,
      dynamoDb,
      names: {
        dataBucket: running.dataBucket,
        tables: running.tables as Record<TableKey, string>,
        eventsStream: running.eventsStream,
      },
      clientsFor: (deployable) => account.clientsFor(deployable),
      embedded: false,
      deliverEvents: () => Promise.resolve(),
      stop: async () => {
        s3.destroy();
        dynamoDb.destroy();
        firehose.destroy();
        account.destroy();
      },
    };
  }
  const stack = await startStackFromFlags(flags);
  registerPreprocessHandler(stack);
  return {
    s3: stack.s3,
    dynamoDb: stack.dynamoDb,
    names: stack.names,
    clientsFor: (deployable) => stack.clientsFor(deployable),
    embedded: true,
    deliverEvents: () => stack.deliverEvents(),
    stop: () => stack.stop(),
  };
}
