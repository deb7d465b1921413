import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { StageConfig } from './config';
import { DataLake } from './constructs/data-lake';
import { FeatureStore } from './constructs/feature-store';

export interface MappaStackProps extends StackProps {
  readonly config: StageConfig;
}

/** Composes one construct per architectural concern; no resources are defined here directly. */
export class MappaStack extends Stack {
  public readonly dataLake: DataLake;
  public readonly featureStore: FeatureStore;

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
  }
}
