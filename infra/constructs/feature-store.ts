import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import {
  type KeyAttribute,
  TABLE_KEYS,
  TABLES,
  type TableDefinition,
  type TableKey,
  tableName,
} from '../../shared/resources/definitions';

export interface FeatureStoreProps {
  /** Prefix of the physical table names, as in local mode. */
  readonly namePrefix: string;
  /** Keep or delete the tables with the stack. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

const ATTRIBUTE_TYPES: Record<KeyAttribute['type'], dynamodb.AttributeType> = {
  S: dynamodb.AttributeType.STRING,
  N: dynamodb.AttributeType.NUMBER,
  B: dynamodb.AttributeType.BINARY,
};

function toAttribute(attribute: KeyAttribute): dynamodb.Attribute {
  return { name: attribute.name, type: ATTRIBUTE_TYPES[attribute.type] };
}

/**
 * The DynamoDB feature store: one on-demand table per shared definition
 * (`shared/resources/definitions.ts`), with point-in-time recovery, encryption
 * and TTL where the definition names a TTL attribute.
 */
export class FeatureStore extends Construct {
  public readonly tables: Readonly<Record<TableKey, dynamodb.Table>>;

  constructor(scope: Construct, id: string, props: FeatureStoreProps) {
    super(scope, id);
    if (!/^[a-zA-Z0-9_.-]+$/.test(props.namePrefix)) {
      throw new Error(`FeatureStore: namePrefix '${props.namePrefix}' is not a valid DynamoDB name prefix`);
    }
    const tables = {} as Record<TableKey, dynamodb.Table>;
    for (const key of TABLE_KEYS) {
      const definition: TableDefinition = TABLES[key];
      const table = new dynamodb.Table(this, pascalCase(key), {
        tableName: tableName(props.namePrefix, key),
        partitionKey: toAttribute(definition.partitionKey),
        ...(definition.sortKey ? { sortKey: toAttribute(definition.sortKey) } : {}),
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        encryption: dynamodb.TableEncryption.AWS_MANAGED,
        removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
        ...(definition.timeToLiveAttribute ? { timeToLiveAttribute: definition.timeToLiveAttribute } : {}),
      });
      for (const index of definition.globalSecondaryIndexes ?? []) {
        table.addGlobalSecondaryIndex({
          indexName: index.indexName,
          partitionKey: toAttribute(index.partitionKey),
          ...(index.sortKey ? { sortKey: toAttribute(index.sortKey) } : {}),
        });
      }
      tables[key] = table;
    }
    this.tables = tables;
  }

  /** Grants read access to the given tables (default: all). */
  grantRead(grantee: iam.IGrantable, keys: readonly TableKey[] = TABLE_KEYS): void {
    for (const key of keys) this.tables[key].grantReadData(grantee);
  }

  /** Grants read and write access to the given tables (default: all). */
  grantReadWrite(grantee: iam.IGrantable, keys: readonly TableKey[] = TABLE_KEYS): void {
    for (const key of keys) this.tables[key].grantReadWriteData(grantee);
  }
}

function pascalCase(key: string): string {
  return key.charAt(0).toUpperCase() + key.slice(1);
}
