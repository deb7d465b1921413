/**
 * CloudWatch Embedded Metric Format: a log line CloudWatch turns into metrics
 * without API calls (no latency, no extra IAM). One line per request.
 */
export type MetricUnit = 'Milliseconds' | 'Count' | 'None';

export interface MetricLine {
  readonly namespace: string;
  readonly dimensions: Record<string, string>;
  readonly metrics: Record<string, { value: number; unit: MetricUnit }>;
  /** Searchable context that is not a dimension (request id, model version). */
  readonly properties?: Record<string, unknown>;
}

export function emfLine(line: MetricLine, now = Date.now()): string {
  const values: Record<string, unknown> = {};
  for (const [name, metric] of Object.entries(line.metrics)) values[name] = metric.value;
  return JSON.stringify({
    _aws: {
      Timestamp: now,
      CloudWatchMetrics: [
        {
          Namespace: line.namespace,
          Dimensions: [Object.keys(line.dimensions)],
          Metrics: Object.entries(line.metrics).map(([name, metric]) => ({ Name: name, Unit: metric.unit })),
        },
      ],
    },
    ...line.properties,
    ...line.dimensions,
    ...values,
  });
}

export const METRICS_NAMESPACE = 'Mappa';
