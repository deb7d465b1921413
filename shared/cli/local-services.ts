import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { createDynamoDbClient, createS3Client } from '../aws/clients';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local/embedded-stack';
import { registerPreprocessHandler } from '../local/preprocess-wiring';
import { processAlive, readLocalState } from '../local/state-file';
import type { TableKey } from '../resources/definitions';
import { type StackFlags, startStackFromFlags } from './commands/local';

/** The local bucket and tables, whether this process runs the stack or `mappa local up` does. */
export interface LocalServices {
  readonly s3: S3Client;
  readonly dynamoDb: DynamoDBClient;
  readonly names: { readonly dataBucket: string; readonly tables: Record<TableKey, string> };
  /** Whether this process started the stack (and so preprocesses drop-folder uploads itself). */
  readonly embedded: boolean;
  stop(): Promise<void>;
}

/** Connects to a running `mappa local up` stack, or starts one for this command. */
export async function openLocalServices(flags: StackFlags): Promise<LocalServices> {
  const running = readLocalState(flags.dataDir);
  if (running && processAlive(running.pid)) {
    const connection = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
    const s3 = createS3Client({ ...connection, endpoint: running.s3Endpoint }, {});
    const dynamoDb = createDynamoDbClient({ ...connection, endpoint: running.dynamoDbEndpoint });
    return {
      s3,
      dynamoDb,
      names: { dataBucket: running.dataBucket, tables: running.tables as Record<TableKey, string> },
      embedded: false,
      stop: async () => {
        s3.destroy();
        dynamoDb.destroy();
      },
    };
  }
  const stack = await startStackFromFlags(flags);
  registerPreprocessHandler(stack);
  return {
    s3: stack.s3,
    dynamoDb: stack.dynamoDb,
    names: stack.names,
    embedded: true,
    stop: () => stack.stop(),
  };
}
