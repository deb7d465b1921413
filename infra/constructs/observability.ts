import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { METRIC_DIMENSIONS, METRICS_NAMESPACE } from '../../shared/observability/metrics';
import { API_ROUTES } from '../../shared/serving/routes';
import type { Ingestion } from './ingestion';
import type { EventsDelivery } from './events-delivery';
import type { ServingApi } from './serving-api';
import type { TrainingJob } from './training-job';

export interface ObservabilityProps {
  readonly ingestion: Ingestion;
  readonly training: TrainingJob;
  readonly serving: ServingApi;
  readonly eventsDelivery: EventsDelivery;
  /** Email subscribed to the alarm topic (confirmation needed); none when empty. */
  readonly alarmEmail?: string;
}

/**
 * One dashboard for the whole pipeline (ingestion rows and rejects, training
 * runs and promotions, API latency, errors and strategy mix) and one SNS topic
 * every alarm notifies.
 */
export class Observability extends Construct {
  public readonly alarmTopic: sns.Topic;
  /** The alarm topic's key; its policy admits cloudwatch.amazonaws.com. */
  public readonly alarmKey: kms.Key;
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    // A customer-managed key: the AWS-managed alias/aws/sns key's policy cannot admit CloudWatch,
    // so alarms could never publish to a topic encrypted with it.
    this.alarmKey = new kms.Key(this, 'AlarmTopicKey', {
      description: 'Encrypts the Mappa alarm topic; CloudWatch alarms may use it to publish',
      enableKeyRotation: true,
    });
    this.alarmKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    this.alarmTopic = new sns.Topic(this, 'Alarms', {
      displayName: 'Mappa alarms',
      enforceSSL: true,
      masterKey: this.alarmKey,
    });
    this.alarmTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    if (props.alarmEmail)
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    const alarms = [
      props.ingestion.errorsAlarm,
      props.ingestion.deadLetterAlarm,
      props.training.failedRunAlarm,
      props.training.noPromotionAlarm,
      props.serving.serverErrorsAlarm,
      props.serving.latencyAlarm,
      props.eventsDelivery.deliveryDelayAlarm,
    ];
    for (const alarm of alarms) alarm.addAlarmAction(new actions.SnsAction(this.alarmTopic));

    // Ingestion counts come from the preprocess function's "file ingested" log line.
    const ingestedMetric = (field: 'rows_in' | 'accepted' | 'duplicates' | 'rejected') =>
      new logs.MetricFilter(this, `Ingested${field}`, {
        logGroup: props.ingestion.function.logGroup,
        filterPattern: logs.FilterPattern.stringValue('$.message', '=', 'file ingested'),
        metricNamespace: METRICS_NAMESPACE,
        metricName: `Ingestion_${field}`,
        metricValue: `$.${field}`,
        defaultValue: 0,
      }).metric({ statistic: 'Sum', period: Duration.hours(1) });

    const api = props.serving.api;
    const strategy = (name: string) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: `Strategy_${name}`,
        dimensionsMap: {
          [METRIC_DIMENSIONS.service]: 'mappa-api-recommendations',
          [METRIC_DIMENSIONS.route]: 'getRecommendations',
        },
        statistic: 'Sum',
        period: Duration.minutes(5),
        label: name,
      });
    const routeLatency = (operationId: string, fn: string) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: 'Latency',
        dimensionsMap: {
          [METRIC_DIMENSIONS.service]: `mappa-api-${fn}`,
          [METRIC_DIMENSIONS.route]: operationId,
        },
        statistic: 'p99',
        period: Duration.minutes(5),
        label: operationId,
      });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.days(7) });
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown:
          '# Mappa\nDrop folder → preprocessing → training → API. Alarms notify the `Mappa alarms` SNS topic.',
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Ingestion: rows per hour',
        left: (['rows_in', 'accepted', 'duplicates', 'rejected'] as const).map(ingestedMetric),
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Preprocessing: invocations, errors, dead letters',
        left: [props.ingestion.function.metricInvocations(), props.ingestion.function.metricErrors()],
        right: [props.ingestion.deadLetterQueue.metricApproximateNumberOfMessagesVisible()],
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Training: failed runs and promoted models per day',
        left: [props.training.failedRunAlarm.metric, props.training.noPromotionAlarm.metric],
        width: 12,
      }),
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms, width: 12 }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'API: requests and errors',
        left: [api.metricCount({ period: Duration.minutes(5) })],
        right: [
          api.metricClientError({ period: Duration.minutes(5) }),
          api.metricServerError({ period: Duration.minutes(5) }),
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'API latency p50 / p99 (API Gateway)',
        left: [
          api.metricLatency({ statistic: 'p50', period: Duration.minutes(5) }),
          api.metricLatency({ statistic: 'p99', period: Duration.minutes(5) }),
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Recommendation strategy mix',
        left: ['personalized', 'cold_start', 'fallback', 'popular', 'trending'].map(strategy),
        stacked: true,
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Handler latency p99 per route (EMF)',
        left: API_ROUTES.map((route) => routeLatency(route.operationId, route.fn)),
        width: 24,
      }),
    );
  }
}
