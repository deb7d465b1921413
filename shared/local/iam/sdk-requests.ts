/**
 * What IAM evaluates for one AWS SDK command: the action(s) and resource ARN(s)
 * AWS's service authorization reference lists for it, with the condition keys
 * the service supplies (`s3:prefix` on listings). Commands not listed here are
 * refused by the local double, so a new call cannot slip past enforcement.
 */
export interface AuthorizationRequest {
  readonly action: string;
  readonly resource: string;
  readonly context?: Readonly<Record<string, string>>;
}

type Input = Record<string, unknown>;
type Mapper = (input: Input, where: { region: string; accountId: string }) => AuthorizationRequest[];

const objectArn = (bucket: unknown, key: unknown) => `arn:aws:s3:::${String(bucket)}/${String(key)}`;
const bucketArn = (bucket: unknown) => `arn:aws:s3:::${String(bucket)}`;
const versioned = (input: Input, plain: string, version: string) => (input.VersionId ? version : plain);

const readObject: Mapper = (input) => [
  {
    action: versioned(input, 's3:GetObject', 's3:GetObjectVersion'),
    resource: objectArn(input.Bucket, input.Key),
  },
];
const writeObject: Mapper = (input) => [
  { action: 's3:PutObject', resource: objectArn(input.Bucket, input.Key) },
];

const S3_COMMANDS: Record<string, Mapper> = {
  GetObjectCommand: readObject,
  HeadObjectCommand: readObject,
  PutObjectCommand: writeObject,
  CreateMultipartUploadCommand: writeObject,
  UploadPartCommand: writeObject,
  CompleteMultipartUploadCommand: writeObject,
  AbortMultipartUploadCommand: (input) => [
    { action: 's3:AbortMultipartUpload', resource: objectArn(input.Bucket, input.Key) },
  ],
  CopyObjectCommand: (input) => {
    const source = decodeURIComponent(String(input.CopySource).replace(/^\//, ''));
    const [path, query] = source.split('?versionId=');
    return [
      { action: 's3:PutObject', resource: objectArn(input.Bucket, input.Key) },
      { action: query ? 's3:GetObjectVersion' : 's3:GetObject', resource: `arn:aws:s3:::${path}` },
    ];
  },
  DeleteObjectCommand: (input) => [
    {
      action: versioned(input, 's3:DeleteObject', 's3:DeleteObjectVersion'),
      resource: objectArn(input.Bucket, input.Key),
    },
  ],
  DeleteObjectsCommand: (input) =>
    ((input.Delete as { Objects?: { Key?: string; VersionId?: string }[] } | undefined)?.Objects ?? []).map(
      (object) => ({
        action: object.VersionId ? 's3:DeleteObjectVersion' : 's3:DeleteObject',
        resource: objectArn(input.Bucket, object.Key),
      }),
    ),
  ListObjectsV2Command: (input) => [
    {
      action: 's3:ListBucket',
      resource: bucketArn(input.Bucket),
      context: { 's3:prefix': String(input.Prefix ?? '') },
    },
  ],
  ListObjectsCommand: (input) => [
    {
      action: 's3:ListBucket',
      resource: bucketArn(input.Bucket),
      context: { 's3:prefix': String(input.Prefix ?? '') },
    },
  ],
  ListObjectVersionsCommand: (input) => [
    {
      action: 's3:ListBucketVersions',
      resource: bucketArn(input.Bucket),
      context: { 's3:prefix': String(input.Prefix ?? '') },
    },
  ],
};

const tableArn = (where: { region: string; accountId: string }, table: unknown) =>
  `arn:aws:dynamodb:${where.region}:${where.accountId}:table/${String(table)}`;
const onTable =
  (action: string): Mapper =>
  (input, where) => [{ action, resource: tableArn(where, input.TableName) }];
const perTable =
  (action: string, field: 'RequestItems'): Mapper =>
  (input, where) =>
    Object.keys((input[field] as Record<string, unknown> | undefined) ?? {}).map((table) => ({
      action,
      resource: tableArn(where, table),
    }));

const TRANSACT_ACTIONS: Record<string, string> = {
  Put: 'dynamodb:PutItem',
  Update: 'dynamodb:UpdateItem',
  Delete: 'dynamodb:DeleteItem',
  ConditionCheck: 'dynamodb:ConditionCheckItem',
  Get: 'dynamodb:GetItem',
};
const transact: Mapper = (input, where) =>
  ((input.TransactItems as Record<string, { TableName?: string }>[] | undefined) ?? []).flatMap((item) =>
    Object.entries(item).map(([kind, request]) => ({
      action: TRANSACT_ACTIONS[kind] ?? `dynamodb:${kind}`,
      resource: tableArn(where, request.TableName),
    })),
  );

const DYNAMODB_COMMANDS: Record<string, Mapper> = {
  GetItemCommand: onTable('dynamodb:GetItem'),
  PutItemCommand: onTable('dynamodb:PutItem'),
  UpdateItemCommand: onTable('dynamodb:UpdateItem'),
  DeleteItemCommand: onTable('dynamodb:DeleteItem'),
  ScanCommand: (input, where) => [
    {
      action: 'dynamodb:Scan',
      resource: `${tableArn(where, input.TableName)}${input.IndexName ? `/index/${String(input.IndexName)}` : ''}`,
    },
  ],
  QueryCommand: (input, where) => [
    {
      action: 'dynamodb:Query',
      resource: `${tableArn(where, input.TableName)}${input.IndexName ? `/index/${String(input.IndexName)}` : ''}`,
    },
  ],
  BatchGetItemCommand: perTable('dynamodb:BatchGetItem', 'RequestItems'),
  BatchWriteItemCommand: perTable('dynamodb:BatchWriteItem', 'RequestItems'),
  TransactWriteItemsCommand: transact,
  TransactGetItemsCommand: transact,
  DescribeTableCommand: onTable('dynamodb:DescribeTable'),
  CreateTableCommand: onTable('dynamodb:CreateTable'),
};

const streamArn = (where: { region: string; accountId: string }, stream: unknown) =>
  `arn:aws:firehose:${where.region}:${where.accountId}:deliverystream/${String(stream)}`;
const onStream =
  (action: string): Mapper =>
  (input, where) => [{ action, resource: streamArn(where, input.DeliveryStreamName) }];

const FIREHOSE_COMMANDS: Record<string, Mapper> = {
  PutRecordCommand: onStream('firehose:PutRecord'),
  PutRecordBatchCommand: onStream('firehose:PutRecordBatch'),
  DescribeDeliveryStreamCommand: onStream('firehose:DescribeDeliveryStream'),
};

export type SdkService = 'S3' | 'DynamoDB' | 'Firehose';

/** The command maps by client, for the static bundle check and the middleware. */
export const AUTHORIZATION_MAPPERS: Readonly<Record<SdkService, Readonly<Record<string, Mapper>>>> = {
  S3: S3_COMMANDS,
  DynamoDB: DYNAMODB_COMMANDS,
  Firehose: FIREHOSE_COMMANDS,
};

/** The authorization requests one SDK command makes, or undefined for a command the double does not know. */
export function authorizationRequests(
  service: SdkService,
  commandName: string,
  input: Input,
  where: { region: string; accountId: string },
): AuthorizationRequest[] | undefined {
  return AUTHORIZATION_MAPPERS[service][commandName]?.(input, where);
}
