import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import dynalite from 'dynalite';
import S3rver from 's3rver';
import { enableS3rverContinuationTokens } from './s3rver-tokens';
import type { Deployable } from '../resources/deployables';
import {
  attributeDefinitions,
  DATASETS,
  DEFAULT_NAME_PREFIX,
  EVENTS_DELIVERY,
  eventsStreamName,
  incomingPrefix,
  localBucketName,
  TABLE_KEYS,
  TABLES,
  type TableDefinition,
  type TableKey,
  tableName,
} from '../resources/definitions';
import { type AccountPolicies, LOCAL_ACCOUNT_ID } from './iam/account-policies';
import { FirehoseDouble } from './firehose-double';
import type { IamUsageRecorder } from './iam/enforcement';
import { type DeployableClients, LOCAL_CREDENTIALS, LOCAL_REGION, LocalAccount } from './local-account';
import { type DeadLetter, S3EventBridge, type S3EventHandler } from './s3-event-bridge';

export { LOCAL_CREDENTIALS, LOCAL_REGION };

export interface EmbeddedStackOptions {
  /** S3 port on 127.0.0.1; 0 picks a free port (parallel tests). @default 4569 */
  readonly s3Port?: number;
  /** DynamoDB port on 127.0.0.1; 0 picks a free port. @default 4570 */
  readonly dynamoDbPort?: number;
  /** Firehose port on 127.0.0.1; 0 picks a free port. @default 4571, or a free port when `s3Port` is 0 */
  readonly firehosePort?: number;
  /**
   * The events delivery stream's buffering hints (the deployed stream's by default: 60 s / 5 MiB) and how
   * long a failed S3 write waits before the next try (Firehose: 5 s).
   */
  readonly eventsDelivery?: {
    readonly bufferingIntervalSeconds?: number;
    readonly bufferingSizeMiB?: number;
    readonly retryIntervalMs?: number;
  };
  /** Where both emulators keep their data. @default `.mappa/` in the working directory */
  readonly dataDir?: string;
  /** Prefix of bucket and table names, as the CDK stage's. @default 'mappa' */
  readonly namePrefix?: string;
  /** Keep DynamoDB in memory instead of on disk (tests). @default false */
  readonly inMemoryDynamoDb?: boolean;
  /** Notified when an S3 event failed every delivery attempt. */
  readonly onDeadLetter?: (letter: DeadLetter) => void;
  /**
   * The deployables' policies from the synthesized template; each deployable's
   * clients are then IAM-enforced. Omitted = no enforcement (`--no-iam`).
   */
  readonly iam?: AccountPolicies;
  /** Where IAM decisions are recorded (shared across stacks in one test run). */
  readonly iamRecorder?: IamUsageRecorder;
}

/** The local dead-letter queue's file under the stack's data directory (one JSON line per letter). */
export const DEAD_LETTER_FILE = 'dead-letters.jsonl';

export interface DeadLetterLine {
  readonly bucket: string;
  readonly key: string;
  readonly error: string;
  readonly attempts: number;
  readonly at: string;
}

function deadLetterLine(letter: DeadLetter): DeadLetterLine {
  const record = letter.event.Records[0];
  return {
    bucket: record?.s3.bucket.name ?? '',
    key: decodeURIComponent((record?.s3.object.key ?? '').replace(/\+/g, ' ')),
    error: letter.error,
    attempts: letter.attempts,
    at: new Date().toISOString(),
  };
}

/** Dead letters recorded in a stack's data directory since `since` (ISO time), oldest first. */
export function readDeadLetters(dataDir: string, since = ''): DeadLetterLine[] {
  const file = join(resolve(dataDir), DEAD_LETTER_FILE);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as DeadLetterLine)
    .filter((letter) => letter.at >= since);
}

/** Physical names of everything the stack created. */
export interface LocalResourceNames {
  readonly dataBucket: string;
  readonly tables: Record<TableKey, string>;
  /** The Firehose stream carrying `POST /v1/events` into the drop folder. */
  readonly eventsStream: string;
}

/** Raised when the stack cannot start, with a message a person can act on. */
export class EmbeddedStackError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EmbeddedStackError';
  }
}

/** The CreateTable request for one shared table definition. */
export function createTableInput(name: string, definition: TableDefinition): CreateTableCommandInput {
  const keySchema = (pk: { name: string }, sk?: { name: string }) => [
    { AttributeName: pk.name, KeyType: 'HASH' as const },
    ...(sk ? [{ AttributeName: sk.name, KeyType: 'RANGE' as const }] : []),
  ];
  const indexes = definition.globalSecondaryIndexes ?? [];
  return {
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: attributeDefinitions(definition).map((attribute) => ({
      AttributeName: attribute.name,
      AttributeType: attribute.type,
    })),
    KeySchema: keySchema(definition.partitionKey, definition.sortKey),
    ...(indexes.length > 0
      ? {
          GlobalSecondaryIndexes: indexes.map((index) => ({
            IndexName: index.indexName,
            KeySchema: keySchema(index.partitionKey, index.sortKey),
            Projection: { ProjectionType: 'ALL' },
          })),
        }
      : {}),
  };
}

/**
 * S3, DynamoDB and Firehose on 127.0.0.1, speaking the real protocols (s3rver, dynalite, our Firehose
 * double), with the bucket, tables and delivery stream of the shared definitions and S3 drop-folder
 * notifications delivered to registered handlers as real S3 events.
 */
export class EmbeddedStack {
  readonly s3: S3Client;
  readonly dynamoDb: DynamoDBClient;
  readonly names: LocalResourceNames;
  /** The local account: per-deployable clients under each one's IAM role. */
  readonly account: LocalAccount;
  private readonly bridge: S3EventBridge;

  private constructor(
    s3rver: S3rver,
    private readonly s3Server: Server,
    private readonly dynamoDbServer: Server,
    /** Delivers `POST /v1/events` records into the drop folder under the delivery role. */
    readonly firehose: FirehoseDouble,
    readonly s3Endpoint: string,
    readonly dynamoDbEndpoint: string,
    readonly dataDir: string,
    namePrefix: string,
    options: EmbeddedStackOptions,
  ) {
    this.account = new LocalAccount(
      { s3Endpoint, dynamoDbEndpoint, firehoseEndpoint: firehose.endpoint },
      options.iam,
      options.iamRecorder,
    );
    // The operator's clients: uploads, reports and table creation, as an account administrator.
    ({ s3: this.s3, dynamoDb: this.dynamoDb } = this.account.operatorClients());
    // The local dead-letter queue: a JSON line per event that failed every attempt, under the data dir, so
    // `mappa ingest` (another process) can say a file failed instead of waiting for a report that never comes.
    const deadLetterFile = join(dataDir, DEAD_LETTER_FILE);
    const onDeadLetter = (letter: DeadLetter) => {
      appendFileSync(deadLetterFile, `${JSON.stringify(deadLetterLine(letter))}\n`);
      options.onDeadLetter?.(letter);
    };
    this.names = {
      dataBucket: localBucketName(namePrefix),
      tables: Object.fromEntries(TABLE_KEYS.map((key) => [key, tableName(namePrefix, key)])) as Record<
        TableKey,
        string
      >,
      eventsStream: eventsStreamName(namePrefix),
    };
    this.bridge = new S3EventBridge({ region: LOCAL_REGION, onDeadLetter });
    s3rver.on('event', (event) => {
      for (const record of event.Records) {
        this.bridge.publish({
          eventName: record.eventName,
          bucket: record.s3.bucket.name,
          key: record.s3.object.key,
          size: record.s3.object.size ?? 0,
          ...(record.s3.object.eTag ? { eTag: record.s3.object.eTag } : {}),
          sequencer: record.s3.object.sequencer,
        });
      }
    });
  }

  /** Starts both emulators and creates the bucket and tables. */
  static async start(options: EmbeddedStackOptions = {}): Promise<EmbeddedStack> {
    const dataDir = resolve(options.dataDir ?? '.mappa');
    const namePrefix = options.namePrefix ?? DEFAULT_NAME_PREFIX;
    const s3Dir = join(dataDir, 's3');
    mkdirSync(s3Dir, { recursive: true });
    enableS3rverContinuationTokens();
    const s3rver = new S3rver({
      silent: true,
      directory: s3Dir,
      configureBuckets: [{ name: localBucketName(namePrefix) }],
    });
    await s3rver.configureBuckets();
    // Our own HTTP server around s3rver's handler: s3rver.run() never settles
    // when its port is taken, so listen errors would hang instead of surfacing.
    const s3Server = createServer(s3rver.callback());
    try {
      await listen(s3Server, options.s3Port ?? 4569);
    } catch (error) {
      throw describeListenError('S3', options.s3Port ?? 4569, error);
    }
    const s3Port = (s3Server.address() as AddressInfo).port;

    let dynamoDbServer: Server;
    try {
      const dynamoDir = join(dataDir, 'dynamodb');
      if (!options.inMemoryDynamoDb) mkdirSync(dynamoDir, { recursive: true });
      dynamoDbServer = dynalite({
        ...(options.inMemoryDynamoDb ? {} : { path: dynamoDir }),
        createTableMs: 0,
        deleteTableMs: 0,
        updateTableMs: 0,
      });
      await listen(dynamoDbServer, options.dynamoDbPort ?? 4570);
    } catch (error) {
      await closeServer(s3Server);
      throw describeListenError('DynamoDB', options.dynamoDbPort ?? 4570, error);
    }
    const dynamoPort = (dynamoDbServer.address() as AddressInfo).port;

    // The double writes through the delivery role's S3 client, which exists once the account does.
    const delivery: { client?: () => S3Client } = {};
    const firehosePort = options.firehosePort ?? (options.s3Port === 0 ? 0 : 4571);
    let firehose: FirehoseDouble;
    try {
      firehose = await FirehoseDouble.start({
        port: firehosePort,
        dataDir: join(dataDir, 'firehose'),
        region: LOCAL_REGION,
        accountId: options.iam?.accountId ?? LOCAL_ACCOUNT_ID,
        s3: () => {
          if (!delivery.client) throw new Error('the local account is not ready');
          return delivery.client();
        },
        streams: [
          {
            name: eventsStreamName(namePrefix),
            bucket: localBucketName(namePrefix),
            prefix: EVENTS_DELIVERY.prefix,
            fileExtension: EVENTS_DELIVERY.fileExtension,
            bufferingIntervalSeconds:
              options.eventsDelivery?.bufferingIntervalSeconds ?? EVENTS_DELIVERY.bufferingIntervalSeconds,
            bufferingSizeMiB: options.eventsDelivery?.bufferingSizeMiB ?? EVENTS_DELIVERY.bufferingSizeMiB,
          },
        ],
        ...(options.eventsDelivery?.retryIntervalMs !== undefined
          ? { retryIntervalMs: options.eventsDelivery.retryIntervalMs }
          : {}),
      });
    } catch (error) {
      await Promise.all([closeServer(s3Server), closeServer(dynamoDbServer)]);
      throw describeListenError('Firehose', firehosePort, error);
    }

    const stack = new EmbeddedStack(
      s3rver,
      s3Server,
      dynamoDbServer,
      firehose,
      `http://127.0.0.1:${s3Port}`,
      `http://127.0.0.1:${dynamoPort}`,
      dataDir,
      namePrefix,
      options,
    );
    delivery.client = () => stack.clientsFor('events-delivery').s3;
    try {
      await stack.createTables();
    } catch (error) {
      await stack.stop();
      throw new EmbeddedStackError(`Could not create the local DynamoDB tables: ${String(error)}`, {
        cause: error,
      });
    }
    return stack;
  }

  /**
   * Registers a handler for `ObjectCreated` events under a prefix of the data
   * bucket, like an S3 notification to a Lambda. Returns an unregister function.
   */
  onObjectCreated(prefix: string, handler: S3EventHandler): () => void {
    return this.bridge.register({ bucket: this.names.dataBucket, prefix, handler });
  }

  /** Registers one handler for every dataset's drop folder (`incoming/<dataset>/`). */
  onDropFolder(handler: S3EventHandler): () => void {
    const unregister = DATASETS.map((dataset) => this.onObjectCreated(incomingPrefix(dataset), handler));
    return () => {
      for (const undo of unregister) undo();
    };
  }

  /** Waits until every notification delivered so far has been handled. */
  drainEvents(): Promise<void> {
    return this.bridge.drain();
  }

  /**
   * Writes every buffered API event into the drop folder now (what the buffer interval would do a
   * little later) and waits until ingestion has handled the files.
   */
  async deliverEvents(): Promise<void> {
    await this.firehose.flush();
    await this.bridge.drain();
  }

  get deadLetters(): readonly DeadLetter[] {
    return this.bridge.deadLetters;
  }

  /** The clients a deployable's code gets here: its role's IAM enforced when the stack has policies. */
  clientsFor(deployable: Deployable): DeployableClients {
    return this.account.clientsFor(deployable);
  }

  /**
   * Environment variables that point the AWS SDK (and so Mappa's own code, the
   * AWS CLI, or any SDK tool) at this stack.
   */
  clientEnvironment(): Record<string, string> {
    return {
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_S3: this.s3Endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: this.dynamoDbEndpoint,
      AWS_ENDPOINT_URL_FIREHOSE: this.firehose.endpoint,
      AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
      AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
    };
  }

  async stop(): Promise<void> {
    // Buffered events stay journaled under the data directory; the next start delivers them.
    await this.firehose.stop();
    await this.bridge.drain();
    this.s3.destroy();
    this.dynamoDb.destroy();
    this.account.destroy();
    await Promise.all([closeServer(this.s3Server), closeServer(this.dynamoDbServer)]);
  }

  private async createTables(): Promise<void> {
    for (const key of TABLE_KEYS) {
      try {
        await this.dynamoDb.send(
          new CreateTableCommand(createTableInput(this.names.tables[key], TABLES[key])),
        );
      } catch (error) {
        // A persisted data directory already has the tables from an earlier run.
        if (!(error instanceof ResourceInUseException)) throw error;
      }
    }
    // CreateTable answers while the table is CREATING, and a table answers ResourceNotFoundException until it
    // is ACTIVE — in DynamoDB and in dynalite (whose flip waits for a LevelDB write, late on a busy machine).
    for (const key of TABLE_KEYS) {
      for (let attempt = 0; ; attempt++) {
        const { Table } = await this.dynamoDb.send(
          new DescribeTableCommand({ TableName: this.names.tables[key] }),
        );
        if (Table?.TableStatus === 'ACTIVE') break;
        if (attempt >= 200) throw new Error(`table ${this.names.tables[key]} is still ${Table?.TableStatus}`);
        await new Promise((resolvePromise) => setTimeout(resolvePromise, 25));
      }
    }
  }
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolvePromise();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolvePromise) => {
    server.close(() => resolvePromise());
    server.closeAllConnections();
  });
}

function describeListenError(service: string, port: number, error: unknown): EmbeddedStackError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE') {
    return new EmbeddedStackError(
      `Local ${service} port ${port} on 127.0.0.1 is already in use. Stop the other process (maybe 'mappa local down') or choose another port.`,
      { cause: error },
    );
  }
  return new EmbeddedStackError(`Local ${service} could not start on 127.0.0.1:${port}: ${String(error)}`, {
    cause: error,
  });
}
