import { Duration } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { ENV } from '../../shared/config/env-names';
import { DATA_LAKE_PREFIXES } from '../../shared/resources/definitions';
import { API_FUNCTIONS, API_ROUTES, type ApiFunction } from '../../shared/serving/routes';
import { AppFunction } from './app-function';
import { grantListPrefixes, grantMissingKeyAnswers, grantObjects } from './data-lake-grants';
import type { EventsDelivery } from './events-delivery';
import type { FeatureStore } from './feature-store';

export interface ServingApiProps {
  readonly bucket: s3.Bucket;
  readonly featureStore: FeatureStore;
  /** The Firehose stream the events function puts posted events on. */
  readonly eventsDelivery: EventsDelivery;
  /** Usage-plan throttling per API key. */
  readonly throttleRateLimit: number;
  readonly throttleBurstLimit: number;
  /** Origins allowed by CORS; empty = no CORS (server-to-server callers). */
  readonly corsOrigins: readonly string[];
  /** Seconds between the functions' checks for a newly promoted model. */
  readonly modelRecheckSeconds: number;
  /** Event types whose items are excluded as seen (`*` = all). */
  readonly excludeSeenEventTypes: string;
  /** Memory of the scoring functions (more memory = more CPU for big catalogues). */
  readonly scoringMemoryMiB: number;
  /**
   * `apiKey`: API keys with a usage plan (server-to-server callers; what `mappa serve` enforces).
   * `iam`: SigV4-signed requests from IAM principals (callers inside AWS); stage-level throttling.
   */
  readonly authMode: 'apiKey' | 'iam';
  /** Default share of a recommendation list offered to items added since training (0-1). */
  readonly explorationWeight: number;
  /** Items listed at most this many days ago count as new (1-30). */
  readonly explorationItemAgeCutoffDays: number;
}

const DESCRIPTIONS: Record<ApiFunction, string> = {
  recommendations: 'Top-N recommendations and personalized ranking',
  'similar-items': 'Similar items in the embedding space',
  events: 'Records behaviour events (recent history now, drop folder through Firehose)',
  model: 'Served model metadata and health',
  segments: 'Customer segments, their profiles, and propensity scores',
  experiments: 'A/B experiment definitions and reports; attribution reports',
  filters: 'Named recommendation filters: create, list, delete',
  privacy: 'Forgets a user: features, vectors, history, experiment assignments, and a tombstone',
};

/**
 * The recommendation API: a REST API (API keys + usage plan throttling, the
 * same rule `mappa serve` enforces) with one Lambda per concern, each granted
 * only what it touches (posted events go to the drop folder through the events
 * delivery stream); alarms on 5xx and latency.
 */
export class ServingApi extends Construct {
  public readonly api: apigateway.RestApi;
  /** The callers' key in `apiKey` mode. */
  public readonly apiKey?: apigateway.IApiKey;
  public readonly functions: Readonly<Record<ApiFunction, AppFunction>>;
  public readonly serverErrorsAlarm: cloudwatch.Alarm;
  public readonly latencyAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: ServingApiProps) {
    super(scope, id);
    const tables = props.featureStore.tables;
    // API Gateway's own error responses can name one fixed origin only; the functions answer each allowed one.
    const corsOrigin = props.corsOrigins.length === 1 ? props.corsOrigins[0] : undefined;

    const functions = {} as Record<ApiFunction, AppFunction>;
    for (const fn of API_FUNCTIONS) {
      // Functions that hold the model in memory get the scoring size; the others 512 MB.
      const scoring = !['events', 'experiments', 'filters', 'privacy'].includes(fn);
      functions[fn] = new AppFunction(this, `${pascal(fn)}Function`, {
        entryPath: `functions/api/${fn}.ts`,
        description: DESCRIPTIONS[fn],
        memorySize: scoring ? props.scoringMemoryMiB : 512,
        timeout: Duration.seconds(29),
        environment: {
          [ENV.dataBucket]: props.bucket.bucketName,
          [ENV.usersTable]: tables.users.tableName,
          [ENV.userVectorsTable]: tables.userVectors.tableName,
          [ENV.experimentsTable]: tables.experiments.tableName,
          [ENV.filtersTable]: tables.filters.tableName,
          [ENV.attributionTable]: tables.attribution.tableName,
          [ENV.ledgerTable]: tables.ledger.tableName,
          [ENV.itemsTable]: tables.items.tableName,
          ...(fn === 'events' ? { [ENV.eventsStream]: props.eventsDelivery.stream.ref } : {}),
          [ENV.explorationWeight]: String(props.explorationWeight),
          [ENV.explorationItemAgeCutoffDays]: String(props.explorationItemAgeCutoffDays),
          [ENV.modelRecheckSeconds]: String(props.modelRecheckSeconds),
          [ENV.excludeSeenEventTypes]: props.excludeSeenEventTypes,
          ...(props.corsOrigins.length > 0 ? { [ENV.corsOrigins]: props.corsOrigins.join(',') } : {}),
        },
      });
    }
    this.functions = functions;

    // Least privilege, exact actions. Every API function reads the manifest (which may not exist before
    // the first model: S3 must answer 404, not 403) and the artifacts under models/.
    for (const fn of ['recommendations', 'similar-items', 'model', 'segments'] as const) {
      grantObjects(props.bucket, functions[fn], ['s3:GetObject'], [DATA_LAKE_PREFIXES.models]);
      grantMissingKeyAnswers(props.bucket, functions[fn]);
    }
    // Recommendations and ranking read the user's features and vector in one BatchGetItem.
    tables.users.grant(functions.recommendations, 'dynamodb:BatchGetItem');
    // New items: their interactions since listing (the exploration bonus fades with them), and the curated
    // item parts they are read from.
    tables.items.grant(functions.recommendations, 'dynamodb:BatchGetItem');
    for (const fn of ['recommendations', 'similar-items'] as const) {
      grantListPrefixes(props.bucket, functions[fn], [`${DATA_LAKE_PREFIXES.curated}items/`]);
      grantObjects(props.bucket, functions[fn], ['s3:GetObject'], [`${DATA_LAKE_PREFIXES.curated}items/`]);
    }
    tables.userVectors.grant(functions.recommendations, 'dynamodb:BatchGetItem');
    tables.userVectors.grant(functions.segments, 'dynamodb:GetItem');
    // Experiments: recommendations read definitions, count exposures and note them on the user's record;
    // events add outcomes to the experiments that record names.
    tables.experiments.grant(functions.recommendations, 'dynamodb:GetItem', 'dynamodb:UpdateItem');
    tables.users.grant(functions.recommendations, 'dynamodb:UpdateItem');
    tables.experiments.grant(functions.events, 'dynamodb:UpdateItem');
    tables.experiments.grant(
      functions.experiments,
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      // Imported assignments: the user's arm (conditional) and the arm's counters.
      'dynamodb:UpdateItem',
    );
    // ... noted on the user's record, so the events function counts their outcomes.
    tables.users.grant(functions.experiments, 'dynamodb:UpdateItem');
    // Named filters: the scoring functions read one by name; the filters function manages them.
    tables.filters.grant(functions.recommendations, 'dynamodb:GetItem');
    tables.filters.grant(functions['similar-items'], 'dynamodb:GetItem');
    tables.filters.grant(
      functions.filters,
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:DeleteItem',
      'dynamodb:Scan',
    );
    // Attribution: scoring functions count served lists, events add outcomes once (marker, counter,
    // the marker removed again if the counter fails), the experiments function reports.
    tables.attribution.grant(functions.recommendations, 'dynamodb:UpdateItem');
    tables.attribution.grant(functions['similar-items'], 'dynamodb:UpdateItem');
    tables.attribution.grant(
      functions.events,
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
    );
    tables.attribution.grant(functions.experiments, 'dynamodb:Query');
    // Forgetting a user: the tombstone first, then what serving holds about them.
    tables.ledger.grant(functions.privacy, 'dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem');
    tables.users.grant(functions.privacy, 'dynamodb:DeleteItem');
    tables.userVectors.grant(functions.privacy, 'dynamodb:Query', 'dynamodb:DeleteItem');
    // Deleting an assignment also takes the user's contribution out of the variant's counters.
    tables.experiments.grant(
      functions.privacy,
      'dynamodb:Query',
      'dynamodb:DeleteItem',
      'dynamodb:UpdateItem',
    );
    props.eventsDelivery.grantPutRecord(functions.events);
    tables.users.grant(functions.events, 'dynamodb:GetItem', 'dynamodb:UpdateItem');
    // /v1/health reads one (absent) key of the feature store to say whether it answers.
    tables.users.grant(functions.model, 'dynamodb:GetItem');

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: logs.RetentionDays.ONE_MONTH });
    this.api = new apigateway.RestApi(this, 'Api', {
      description: 'Mappa recommendation API',
      cloudWatchRole: true,
      deployOptions: {
        stageName: 'live',
        tracingEnabled: true,
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        metricsEnabled: true,
        accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields(),
        throttlingRateLimit: props.throttleRateLimit,
        throttlingBurstLimit: props.throttleBurstLimit,
      },
      ...(props.corsOrigins.length > 0
        ? {
            defaultCorsPreflightOptions: {
              allowOrigins: [...props.corsOrigins],
              allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
              allowHeaders: ['content-type', 'x-api-key'],
            },
          }
        : {}),
      endpointTypes: [apigateway.EndpointType.REGIONAL],
    });
    const validator = this.api.addRequestValidator('ValidateRequests', {
      validateRequestParameters: true,
      // Bodies have no API Gateway models; the functions validate them with the same schemas as docs/openapi.json.
      validateRequestBody: true,
    });
    // API Gateway's own 4xx/5xx (bad key, throttling) as JSON like the functions' errors.
    for (const type of [apigateway.ResponseType.DEFAULT_4XX, apigateway.ResponseType.DEFAULT_5XX]) {
      this.api.addGatewayResponse(`Gateway${type.responseType}`, {
        type,
        templates: { 'application/json': '{"message":$context.error.messageString}' },
        ...(corsOrigin ? { responseHeaders: { 'Access-Control-Allow-Origin': `'${corsOrigin}'` } } : {}),
      });
    }

    const integrations = new Map<ApiFunction, apigateway.LambdaIntegration>();
    for (const route of API_ROUTES) {
      let integration = integrations.get(route.fn);
      if (!integration) {
        integration = new apigateway.LambdaIntegration(functions[route.fn]);
        integrations.set(route.fn, integration);
      }
      const resource = this.api.root.resourceForPath(route.path);
      const pathParameters = [...route.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1] as string);
      const iam = props.authMode === 'iam' && route.apiKeyRequired;
      resource.addMethod(route.method, integration, {
        apiKeyRequired: props.authMode === 'apiKey' && route.apiKeyRequired,
        ...(iam ? { authorizationType: apigateway.AuthorizationType.IAM } : {}),
        operationName: route.operationId,
        requestValidator: validator,
        requestParameters: Object.fromEntries(
          pathParameters.map((name) => [`method.request.path.${name}`, true]),
        ),
      });
    }

    if (props.authMode === 'apiKey') {
      this.apiKey = this.api.addApiKey('DefaultKey', { description: 'Key for the shop, app or email tool' });
      const plan = this.api.addUsagePlan('UsagePlan', {
        description: 'Throttling per API key',
        throttle: { rateLimit: props.throttleRateLimit, burstLimit: props.throttleBurstLimit },
        apiStages: [{ api: this.api, stage: this.api.deploymentStage }],
      });
      plan.addApiKey(this.apiKey);
    }

    this.serverErrorsAlarm = new cloudwatch.Alarm(this, 'ServerErrorsAlarm', {
      alarmDescription: 'The recommendation API answered 5xx',
      metric: this.api.metricServerError({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 5,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.latencyAlarm = new cloudwatch.Alarm(this, 'LatencyAlarm', {
      alarmDescription: 'p99 latency of the recommendation API above 500 ms for 15 minutes',
      metric: this.api.metricLatency({ period: Duration.minutes(5), statistic: 'p99' }),
      threshold: 500,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    NagSuppressions.addResourceSuppressions(
      this.api,
      [
        {
          id: 'AwsSolutions-APIG4',
          reason:
            props.authMode === 'apiKey'
              ? 'Callers are servers (shop back end, email tool) authenticated by API keys with a usage plan; no per-end-user identity exists to authorize. GET /v1/health is public.'
              : 'Every route but GET /v1/health requires IAM (SigV4) authorization; the health check is public for load balancers and uptime probes.',
        },
        {
          id: 'AwsSolutions-COG4',
          reason: `No Cognito user pool: callers authenticate with ${props.authMode === 'apiKey' ? 'API keys' : 'IAM'} (see APIG4).`,
        },
        {
          id: 'AwsSolutions-APIG3',
          reason:
            'WAF is left to the operator (it bills per web ACL even at idle); API keys and usage-plan throttling bound abuse.',
        },
        {
          id: 'AwsSolutions-IAM4',
          reason:
            'The API Gateway account role uses AWS’s AmazonAPIGatewayPushToCloudWatchLogs, which only writes API Gateway logs.',
          appliesTo: [
            'Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs',
          ],
        },
      ],
      true,
    );
    for (const fn of Object.values(functions)) {
      NagSuppressions.addResourceSuppressions(
        fn,
        [
          {
            id: 'AwsSolutions-IAM5',
            reason:
              'S3 object actions are limited to the prefixes this function needs (models/, curated/items/ for items listed since training); keys below them are data-dependent.',
            appliesTo: [
              {
                regex: `/^Resource::<.*DataLakeData.*\\.Arn>\\/(models|curated\\/items)\\/\\*$/g`,
              },
            ],
          },
        ],
        true,
      );
    }
  }
}

function pascal(name: string): string {
  return name.replace(/(^|-)(\w)/g, (_match, _dash, letter: string) => letter.toUpperCase());
}
