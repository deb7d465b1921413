import { CfnOutput, Fn, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { NagSuppressions } from 'cdk-nag';
import type { Construct } from 'constructs';
import { eventsStreamName } from '../shared/resources/definitions';
import { API_DEPLOYABLES, type Deployable } from '../shared/resources/deployables';
import type { StageConfig } from './config';
import { DataLake } from './constructs/data-lake';
import { EventsDelivery } from './constructs/events-delivery';
import { FeatureStore } from './constructs/feature-store';
import { Ingestion } from './constructs/ingestion';
import { Observability } from './constructs/observability';
import { ServingApi } from './constructs/serving-api';
import { TrainingJob } from './constructs/training-job';

export interface MappaStackProps extends StackProps {
  readonly config: StageConfig;
}

/** Composes one construct per architectural concern; no resources are defined here directly. */
export class MappaStack extends Stack {
  public readonly dataLake: DataLake;
  public readonly featureStore: FeatureStore;
  public readonly ingestion: Ingestion;
  public readonly training: TrainingJob;
  public readonly eventsDelivery: EventsDelivery;
  public readonly serving: ServingApi;
  public readonly observability: Observability;

  /** The role each deployable runs as, by the name the local IAM double knows it by. */
  deployableRoles(): Record<Deployable, iam.IRole> {
    const roleOf = (fn: { role?: iam.IRole }, name: string): iam.IRole => {
      if (!fn.role) throw new Error(`MappaStack: ${name} has no role`);
      return fn.role;
    };
    const api = Object.fromEntries(
      Object.entries(API_DEPLOYABLES).map(([fn, deployable]) => [
        deployable,
        roleOf(this.serving.functions[fn as keyof typeof API_DEPLOYABLES], deployable),
      ]),
    ) as Record<(typeof API_DEPLOYABLES)[keyof typeof API_DEPLOYABLES], iam.IRole>;
    return {
      preprocess: roleOf(this.ingestion.function, 'preprocess'),
      ...api,
      'events-delivery': this.eventsDelivery.role,
      train: this.training.taskDefinition.taskRole,
    };
  }

  constructor(scope: Construct, id: string, props: MappaStackProps) {
    super(scope, id, props);
    const { config } = props;
    const removalPolicy = config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    this.dataLake = new DataLake(this, 'DataLake', {
      removalPolicy,
      rejectedRetentionDays: config.rejectedRetentionDays,
      noncurrentVersionRetentionDays: config.noncurrentVersionRetentionDays,
      accessLogRetentionDays: config.accessLogRetentionDays,
    });
    this.featureStore = new FeatureStore(this, 'FeatureStore', {
      namePrefix: config.namePrefix,
      removalPolicy,
    });
    this.ingestion = new Ingestion(this, 'Ingestion', {
      bucket: this.dataLake.bucket,
      featureStore: this.featureStore,
      reservedConcurrency: config.ingestionConcurrency,
    });
    this.training = new TrainingJob(this, 'Training', {
      bucket: this.dataLake.bucket,
      featureStore: this.featureStore,
      schedule: config.trainingSchedule,
      cpu: config.trainingCpu,
      memoryMiB: config.trainingMemoryMiB,
      maxRunMinutes: config.trainingMaxMinutes,
      excludeSeenEventTypes: config.excludeSeenEventTypes,
      hyperParameters: config.trainingHyperParameters,
    });
    this.eventsDelivery = new EventsDelivery(this, 'EventsDelivery', {
      bucket: this.dataLake.bucket,
      streamName: eventsStreamName(config.namePrefix),
      bufferingIntervalSeconds: config.eventsBufferSeconds,
      bufferingSizeMiB: config.eventsBufferMiB,
    });
    this.serving = new ServingApi(this, 'Serving', {
      bucket: this.dataLake.bucket,
      featureStore: this.featureStore,
      eventsDelivery: this.eventsDelivery,
      throttleRateLimit: config.apiThrottleRate,
      throttleBurstLimit: config.apiThrottleBurst,
      corsOrigins: config.apiCorsOrigins,
      modelRecheckSeconds: config.modelRecheckSeconds,
      excludeSeenEventTypes: config.excludeSeenEventTypes,
      scoringMemoryMiB: config.scoringMemoryMiB,
      authMode: config.apiAuth,
      explorationWeight: config.explorationWeight,
      explorationItemAgeCutoffDays: config.explorationItemAgeCutoffDays,
    });
    this.observability = new Observability(this, 'Observability', {
      ingestion: this.ingestion,
      training: this.training,
      serving: this.serving,
      eventsDelivery: this.eventsDelivery,
      ...(config.alarmEmail ? { alarmEmail: config.alarmEmail } : {}),
    });
    new CfnOutput(this, 'ApiUrl', {
      value: this.serving.api.urlForPath('/v1'),
      description: 'Base URL of the recommendation API',
    });
    if (this.serving.apiKey) {
      new CfnOutput(this, 'GetApiKey', {
        value: Fn.join('', [
          'aws apigateway get-api-key --include-value --query value --output text --api-key ',
          this.serving.apiKey.keyId,
        ]),
        description: 'Prints the API key to send as x-api-key',
      });
    }
    new CfnOutput(this, 'RunTrainingNow', {
      description: 'Starts a training run on demand',
      value: Fn.join('', [
        'aws ecs run-task --launch-type FARGATE --cluster ',
        this.training.cluster.clusterName,
        ' --task-definition ',
        this.training.taskDefinition.taskDefinitionArn,
        ' --network-configuration "awsvpcConfiguration={subnets=[',
        Fn.join(
          ',',
          this.training.vpc.publicSubnets.map((subnet) => subnet.subnetId),
        ),
        '],securityGroups=[',
        this.training.securityGroup.securityGroupId,
        '],assignPublicIp=ENABLED}"',
      ]),
    });
    new CfnOutput(this, 'DataBucketName', {
      value: this.dataLake.bucket.bucketName,
      description: 'Drop files under incoming/<dataset>/',
    });
    // The S3 notification custom resource is CDK's own singleton Lambda.
    NagSuppressions.addResourceSuppressionsByPath(
      this,
      `/${this.stackName}/BucketNotificationsHandler050a0587b7544547bf325f094a3db834/Role/Resource`,
      [
        {
          id: 'AwsSolutions-IAM4',
          reason:
            'CDK-managed handler that configures S3 bucket notifications; it only needs basic Lambda logging.',
        },
      ],
      true,
    );
  }
}
