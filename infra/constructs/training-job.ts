import { join } from 'node:path';
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { ENV } from '../../shared/config/env-names';
import type { TrainingOverrides } from '../../shared/training/overrides';
import { DATA_LAKE_PREFIXES, EVENT_POLICY_KEY } from '../../shared/resources/definitions';
import { REPO_ROOT } from './app-function';
import { grantListPrefixes, grantMissingKeyAnswers, grantObjectKeys, grantObjects } from './data-lake-grants';
import type { FeatureStore } from './feature-store';

/** V8 heap of the training process for a task of `memoryMiB`. */
export function trainingHeapMiB(memoryMiB: number): number {
  return Math.floor(memoryMiB * 0.75);
}

export interface TrainingJobProps {
  readonly bucket: s3.Bucket;
  readonly featureStore: FeatureStore;
  /** EventBridge schedule expression. @default 'cron(0 3 * * ? *)' (daily, 03:00 UTC) */
  readonly schedule?: string;
  /** Fargate vCPU units (1024 = 1 vCPU). @default 2048 */
  readonly cpu?: number;
  /** Fargate memory in MiB. @default 8192 */
  readonly memoryMiB?: number;
  /** Hyper-parameter overrides for the training run (validated). @default {} */
  readonly hyperParameters?: TrainingOverrides;
  /** Event types whose items count as seen (the serving functions' policy): each user's seen-set is written with the vector. @default '*' */
  readonly excludeSeenEventTypes?: string;
  /** Minutes a run may take; it then stops, fails and serving keeps its model. @default 240 */
  readonly maxRunMinutes?: number;
  /** Alarm when no model was promoted for this many days. @default 3 */
  readonly maxDaysWithoutPromotion?: number;
}

/**
 * The scheduled training job: a Fargate task running `functions/train/main.ts`
 * in an image with the native tfjs-node backend (built from
 * `functions/train/Dockerfile` at deploy time), started daily by EventBridge
 * and on demand with `aws ecs run-task`. Public subnets and no NAT gateway:
 * nothing bills while no task runs.
 */
export class TrainingJob extends Construct {
  public readonly cluster: ecs.Cluster;
  public readonly taskDefinition: ecs.FargateTaskDefinition;
  public readonly logGroup: logs.LogGroup;
  public readonly schedule: events.Rule;
  public readonly failedRunAlarm: cloudwatch.Alarm;
  public readonly noPromotionAlarm: cloudwatch.Alarm;
  public readonly securityGroup: ec2.SecurityGroup;
  public readonly vpc: ec2.Vpc;

  constructor(scope: Construct, id: string, props: TrainingJobProps) {
    super(scope, id);
    const cpu = props.cpu ?? 2048;
    const memoryMiB = props.memoryMiB ?? 8192;
    if (![256, 512, 1024, 2048, 4096, 8192, 16384].includes(cpu)) {
      throw new Error(`TrainingJob: cpu must be a Fargate CPU size (256 … 16384), got ${cpu}`);
    }

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }],
      gatewayEndpoints: {
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
        DynamoDB: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB },
      },
    });
    this.vpc.addFlowLog('FlowLogs', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(
        new logs.LogGroup(this, 'FlowLogGroup', { retention: logs.RetentionDays.ONE_MONTH }),
      ),
      trafficType: ec2.FlowLogTrafficType.REJECT,
    });
    this.securityGroup = new ec2.SecurityGroup(this, 'TaskSecurityGroup', {
      vpc: this.vpc,
      description: 'Training task: outbound only (S3, DynamoDB, ECR, CloudWatch Logs)',
      allowAllOutbound: true,
    });

    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: this.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.THREE_MONTHS });
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu,
      memoryLimitMiB: memoryMiB,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.X86_64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    this.taskDefinition.addContainer('train', {
      image: ecs.ContainerImage.fromAsset(REPO_ROOT, {
        file: join('functions', 'train', 'Dockerfile'),
        exclude: [
          'node_modules',
          'cdk.out',
          '.mappa',
          '.scratch',
          '.git',
          'bench/.data',
          'bench/results',
          'reports',
          'test',
          'docs',
        ],
      }),
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'train', logGroup: this.logGroup }),
      environment: {
        [ENV.dataBucket]: props.bucket.bucketName,
        [ENV.userVectorsTable]: props.featureStore.tables.userVectors.tableName,
        [ENV.ledgerTable]: props.featureStore.tables.ledger.tableName,
        [ENV.experimentsTable]: props.featureStore.tables.experiments.tableName,
        [ENV.trainingMaxMinutes]: String(props.maxRunMinutes ?? 240),
        [ENV.excludeSeenEventTypes]: props.excludeSeenEventTypes ?? '*',
        [ENV.tfBackend]: 'tensorflow',
        // V8's heap gets three quarters of the task: tfjs-node's tensors live outside it.
        NODE_OPTIONS: `--max-old-space-size=${trainingHeapMiB(memoryMiB)}`,
        [ENV.trainingConfig]: JSON.stringify(props.hyperParameters ?? {}),
      },
    });

    // Least privilege, exact actions: list and read curated data, read and write models/, write training
    // reports and segment exports, write user vectors.
    const role = this.taskDefinition.taskRole;
    grantListPrefixes(props.bucket, role, [DATA_LAKE_PREFIXES.curated, DATA_LAKE_PREFIXES.models]);
    grantMissingKeyAnswers(props.bucket, role);
    // Put: the deletion job rewrites curated interactions and users without forgotten users.
    grantObjects(props.bucket, role, ['s3:GetObject'], [DATA_LAKE_PREFIXES.curated]);
    grantObjects(
      props.bucket,
      role,
      ['s3:PutObject'],
      [`${DATA_LAKE_PREFIXES.curated}interactions/`, `${DATA_LAKE_PREFIXES.curated}users/`],
    );
    // The interactions mapping: its `events` policy says what each event type means for learning.
    grantObjectKeys(props.bucket, role, ['s3:GetObject'], [EVENT_POLICY_KEY]);
    // Delete: a failed run removes what it wrote under models/<version>/.
    grantObjects(
      props.bucket,
      role,
      ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
      [DATA_LAKE_PREFIXES.models],
    );
    grantObjects(
      props.bucket,
      role,
      ['s3:PutObject'],
      [`${DATA_LAKE_PREFIXES.reports}training/`, `${DATA_LAKE_PREFIXES.exports}segments/`],
    );
    props.featureStore.tables.userVectors.grant(role, 'dynamodb:BatchWriteItem');
    // Running experiments (the registry) and their users' variants and conversions: an uplift model each.
    props.featureStore.tables.experiments.grant(role, 'dynamodb:Query');
    // The run lock (one run at a time) and the forgotten users' tombstones (read, stamped clean).
    props.featureStore.tables.ledger.grant(
      role,
      'dynamodb:PutItem',
      'dynamodb:GetItem',
      'dynamodb:DeleteItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    );

    this.schedule = new events.Rule(this, 'Schedule', {
      description: 'Retrains the Mappa model on the schedule from CDK context (trainingSchedule)',
      schedule: events.Schedule.expression(props.schedule ?? 'cron(0 3 * * ? *)'),
      targets: [
        new targets.EcsTask({
          cluster: this.cluster,
          taskDefinition: this.taskDefinition,
          launchType: ecs.LaunchType.FARGATE,
          subnetSelection: { subnetType: ec2.SubnetType.PUBLIC },
          assignPublicIp: true,
          securityGroups: [this.securityGroup],
        }),
      ],
    });

    const failed = new logs.MetricFilter(this, 'FailedRuns', {
      logGroup: this.logGroup,
      filterPattern: logs.FilterPattern.stringValue('$.message', '=', 'training run failed'),
      metricNamespace: 'Mappa',
      metricName: 'TrainingRunsFailed',
      metricValue: '1',
    });
    const promoted = new logs.MetricFilter(this, 'PromotedModels', {
      logGroup: this.logGroup,
      filterPattern: logs.FilterPattern.stringValue('$.message', '=', 'model promoted'),
      metricNamespace: 'Mappa',
      metricName: 'ModelsPromoted',
      metricValue: '1',
    });
    this.failedRunAlarm = new cloudwatch.Alarm(this, 'FailedRunAlarm', {
      alarmDescription: 'A training run failed; serving keeps the previous model',
      metric: failed.metric({ statistic: 'Sum', period: Duration.hours(1) }),
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const days = props.maxDaysWithoutPromotion ?? 3;
    this.noPromotionAlarm = new cloudwatch.Alarm(this, 'NoPromotionAlarm', {
      alarmDescription: `No model was promoted for ${days} days (runs failing or refused by the quality gate)`,
      metric: promoted.metric({ statistic: 'Sum', period: Duration.days(1) }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: days,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

    NagSuppressions.addResourceSuppressions(
      this.taskDefinition,
      [
        {
          id: 'AwsSolutions-ECS2',
          reason:
            'The environment holds only resource names (bucket, table) and the backend choice; no secrets.',
        },
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'Object-level S3 actions are scoped to curated/, models/, reports/training/ and exports/segments/ prefixes; ecr:GetAuthorizationToken and logs actions are CDK defaults for pulling the image and writing this task’s log group.',
        },
      ],
      true,
    );
    Stack.of(this);
  }
}
