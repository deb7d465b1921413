import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/**
 * CloudWatch metrics as Embedded Metric Format log lines, built by Powertools
 * (units, dimension and metric-count limits checked there): no API calls, no
 * latency, no extra IAM. One line per request.
 */
export const METRICS_NAMESPACE = 'Mappa';

/** Dimension names, shared with the dashboards that read them. */
export const METRIC_DIMENSIONS = { service: 'service', route: 'route' } as const;

export interface RequestMetrics {
  readonly service: string;
  readonly route: string;
  readonly latencyMs: number;
  readonly coldStart: boolean;
  readonly status: number;
  /** Counted as `Strategy_<name>` when the request chose a recommendation strategy. */
  readonly strategy?: string;
  /** Searchable context that is not a dimension. */
  readonly properties: Record<string, string | undefined>;
}

/** Builds one request's EMF line and hands it to `write` (stdout in Lambda). */
export function publishRequestMetrics(request: RequestMetrics, write: (line: string) => void): void {
  const metrics = metricsFor(request.service);
  metrics.addDimension(METRIC_DIMENSIONS.route, request.route);
  metrics.addMetric('Latency', MetricUnit.Milliseconds, request.latencyMs);
  metrics.addMetric('ColdStart', MetricUnit.Count, request.coldStart ? 1 : 0);
  metrics.addMetric(`Status${Math.floor(request.status / 100)}xx`, MetricUnit.Count, 1);
  if (request.strategy) metrics.addMetric(`Strategy_${request.strategy}`, MetricUnit.Count, 1);
  for (const [key, value] of Object.entries(request.properties))
    if (value !== undefined) metrics.addMetadata(key, value);
  try {
    write(JSON.stringify(metrics.serializeMetrics()));
  } finally {
    metrics.clearMetrics();
    metrics.clearDimensions();
    metrics.clearMetadata();
  }
}

const perService = new Map<string, Metrics>();

function metricsFor(service: string): Metrics {
  let metrics = perService.get(service);
  if (!metrics) {
    metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: service });
    perService.set(service, metrics);
  }
  return metrics;
}
