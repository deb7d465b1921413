import { createLogger, type Logger } from '../observability/logger';
import type { LocalFunctionDeps } from './api-server';
import { DEFAULT_POLICY, type ServingPolicy } from '../serving/recommender';
import type { ApiFunction } from '../serving/routes';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { TableKey } from '../resources/definitions';
import { apiDeployable, type Deployable } from '../resources/deployables';
import type { DeployableClients } from './local-account';

export interface LocalApiDepsOptions {
  /** Seconds between manifest checks (the Lambda default is 60). */
  readonly modelRecheckSeconds?: number;
  readonly policy?: ServingPolicy;
  readonly log?: Logger;
  readonly now?: () => Date;
  readonly writeMetrics?: (line: string) => void;
  /** Seconds named filters are cached (the Lambda default is 60). */
  readonly filtersCacheSeconds?: number;
  /** The stage's exploration defaults (the Lambda default: weight 0.3, 30 days). */
  readonly exploration?: { readonly weight: number; readonly itemAgeCutoffDays: number };
  /** Origins browser callers may call from (the stack's `apiCorsOrigins`). */
  readonly corsOrigins?: readonly string[];
}

/**
 * Per-function dependencies over the embedded stack, as each API Lambda
 * container builds them from its environment in AWS: its own clients' view of
 * the bucket and tables, and its own model store.
 */
/** The local bucket and tables (an EmbeddedStack, or a connection to one). */
export interface LocalDataServices {
  /** The operator's (administrator's) clients. */
  readonly s3: S3Client;
  readonly dynamoDb: DynamoDBClient;
  readonly names: {
    readonly dataBucket: string;
    readonly tables: Record<TableKey, string>;
    readonly eventsStream: string;
  };
  /** A deployable's clients, under its role's IAM policies when enforcement is on. */
  clientsFor(deployable: Deployable): DeployableClients;
}

export function localApiDeps(
  stack: LocalDataServices,
  options: LocalApiDepsOptions = {},
): (fn: ApiFunction) => LocalFunctionDeps {
  return (fn) => ({
    ...stack.clientsFor(apiDeployable(fn)),
    bucket: stack.names.dataBucket,
    tables: {
      users: stack.names.tables.users,
      userVectors: stack.names.tables.userVectors,
      experiments: stack.names.tables.experiments,
      filters: stack.names.tables.filters,
      attribution: stack.names.tables.attribution,
      ledger: stack.names.tables.ledger,
      items: stack.names.tables.items,
    },
    log: (options.log ?? createLogger({ service: 'mappa-api' })).child({ function: fn }),
    settings: {
      modelRecheckMs: (options.modelRecheckSeconds ?? 60) * 1000,
      filtersCacheMs: (options.filtersCacheSeconds ?? 60) * 1000,
      exploration: options.exploration ?? { weight: 0.3, itemAgeCutoffDays: 30 },
      eventsStream: stack.names.eventsStream,
    },
    policy: options.policy ?? DEFAULT_POLICY,
    ...(options.now ? { now: options.now } : {}),
    ...(options.writeMetrics ? { writeMetrics: options.writeMetrics } : {}),
    ...(options.corsOrigins ? { corsOrigins: options.corsOrigins } : {}),
  });
}
