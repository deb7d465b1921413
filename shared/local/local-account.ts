import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { FirehoseClient } from '@aws-sdk/client-firehose';
import type { S3Client } from '@aws-sdk/client-s3';
import { createDynamoDbClient, createS3Client } from '../aws/clients';
import { createFirehoseClient } from '../aws/firehose-client';
import type { Deployable } from '../resources/deployables';
import type { AccountPolicies } from './iam/account-policies';
import { enforceIam, IamUsageRecorder, PolicyEvaluator } from './iam/enforcement';
import { enforceS3Limits } from './service-limits';

/** Credentials s3rver checks signatures against; dynalite accepts any. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
export const LOCAL_REGION = 'us-east-1';

export interface DeployableClients {
  readonly s3: S3Client;
  readonly dynamoDb: DynamoDBClient;
  readonly firehose: FirehoseClient;
}

export interface LocalEndpoints {
  readonly s3Endpoint: string;
  readonly dynamoDbEndpoint: string;
  readonly firehoseEndpoint: string;
}

/**
 * The local AWS account: the emulators' endpoints plus, per deployable, SDK
 * clients that carry the IAM enforcement of that deployable's role (when
 * policies are given). The operator's own clients (uploads, reports, table
 * creation) act as an administrator, as a person with the account's admin
 * credentials would.
 */
export class LocalAccount {
  readonly evaluator?: PolicyEvaluator;
  private readonly clients = new Map<Deployable, DeployableClients>();
  /** Every client this account made, destroyed with it (their keep-alive sockets would outlive a test). */
  private readonly made: DeployableClients[] = [];

  constructor(
    readonly endpoints: LocalEndpoints,
    policies?: AccountPolicies,
    recorder: IamUsageRecorder = new IamUsageRecorder(),
  ) {
    if (policies) this.evaluator = new PolicyEvaluator(policies, recorder);
  }

  /** Whether calls of deployables are checked against their roles. */
  get iamEnforced(): boolean {
    return this.evaluator !== undefined;
  }

  get recorder(): IamUsageRecorder | undefined {
    return this.evaluator?.recorder;
  }

  /** New administrator clients (not enforced). */
  operatorClients(): DeployableClients {
    const s3 = createS3Client(
      { endpoint: this.endpoints.s3Endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS },
      {},
    );
    enforceS3Limits(s3);
    // s3rver keeps no object versions: it serves the current object for any VersionId, but reads a
    // copy source's `?versionId=` as part of the key. Strip it on the wire (after IAM has seen it).
    s3.middlewareStack.add(
      (next) => async (args) => {
        const source = (args.input as { CopySource?: unknown }).CopySource;
        if (typeof source === 'string' && source.includes('?versionId=')) {
          return next({ ...args, input: { ...args.input, CopySource: source.split('?versionId=')[0] } });
        }
        return next(args);
      },
      { step: 'serialize', priority: 'high', name: 'mappaS3rverCopySourceVersion' },
    );
    const clients = {
      s3,
      dynamoDb: createDynamoDbClient({
        endpoint: this.endpoints.dynamoDbEndpoint,
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
      }),
      firehose: createFirehoseClient({
        endpoint: this.endpoints.firehoseEndpoint,
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
      }),
    };
    this.made.push(clients);
    return clients;
  }

  /** The clients a deployable's code gets: built once, IAM-enforced for its role. */
  clientsFor(deployable: Deployable): DeployableClients {
    let clients = this.clients.get(deployable);
    if (!clients) {
      clients = this.newClientsFor(deployable);
      this.clients.set(deployable, clients);
    }
    return clients;
  }

  /** Fresh clients under a deployable's role (e.g. to add a fault-injecting middleware). */
  newClientsFor(deployable: Deployable): DeployableClients {
    const clients = this.operatorClients();
    if (this.evaluator) {
      enforceIam(clients.s3, 'S3', deployable, this.evaluator);
      enforceIam(clients.dynamoDb, 'DynamoDB', deployable, this.evaluator);
      enforceIam(clients.firehose, 'Firehose', deployable, this.evaluator);
    }
    return clients;
  }

  destroy(): void {
    for (const clients of this.made) {
      clients.s3.destroy();
      clients.dynamoDb.destroy();
      clients.firehose.destroy();
    }
    this.made.length = 0;
    this.clients.clear();
  }
}
