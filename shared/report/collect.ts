import { attributionReport } from '../marketing/attribution';
import { readCounters } from '../marketing/attribution-store';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { listKeys, readJsonIfExists as readJson } from '../aws/s3-objects';
import { runningExperiments, variantTotals } from '../marketing/experiment-store';
import { experimentReportFromTotals } from '../marketing/experiments';
import type { IngestionReport } from '../ingest/ingestion-types';
import type { EvaluationResult } from '../ml/evaluate';
import type { EpochStats } from '../ml/train-two-tower';
import { DATA_LAKE_PREFIXES } from '../resources/definitions';
import { artifactKey, MANIFEST_KEY, type ModelManifest } from '../contracts/artifacts';
import type { PropensityTarget, TargetSummary } from '../contracts/artifacts';
import type { SegmentsArtifact } from '../contracts/artifacts';
import type { ReportData } from './build-report';
import type { PricingSummary } from '../training/pricing-job';

/** Where the latest uplift evaluation is kept for the report (`mappa demo` writes its campaign's). */
export const UPLIFT_REPORT_KEY = `${DATA_LAKE_PREFIXES.reports}uplift/latest.json`;
/** Where the latest price evaluation is kept for the report. */
export const PRICING_REPORT_KEY = `${DATA_LAKE_PREFIXES.reports}pricing/latest.json`;

/** Everything the report shows, read from the data lake and the experiments table. */
export async function collectReportData(
  deps: {
    s3: S3Client;
    dynamoDb: DynamoDBClient;
    bucket: string;
    experimentsTable: string;
    attributionTable: string;
  },
  now = new Date(),
): Promise<ReportData> {
  const manifest = await readJson<ModelManifest>(deps.s3, deps.bucket, MANIFEST_KEY);
  let model: ReportData['model'];
  let segments: SegmentsArtifact | undefined;
  let propensity: Partial<Record<PropensityTarget, TargetSummary>> | undefined;
  if (manifest) {
    const [metrics, curves] = await Promise.all([
      readJson<{ metrics: Record<string, EvaluationResult> }>(
        deps.s3,
        deps.bucket,
        artifactKey(manifest.version, 'metrics'),
      ),
      readJson<EpochStats[]>(deps.s3, deps.bucket, artifactKey(manifest.version, 'trainingCurves')),
    ]);
    model = {
      version: manifest.version,
      trainedAt: manifest.trainedAt,
      metrics: metrics?.metrics ?? {},
      curves: curves ?? [],
    };
    segments = await readJson<SegmentsArtifact>(
      deps.s3,
      deps.bucket,
      artifactKey(manifest.version, 'segments'),
    );
    propensity = await readJson(deps.s3, deps.bucket, artifactKey(manifest.version, 'propensity'));
  }

  const experiments = { client: deps.dynamoDb, table: deps.experimentsTable };
  const running = await runningExperiments(experiments);
  const latest = running.at(-1);
  const experiment = latest
    ? experimentReportFromTotals(latest, await variantTotals(experiments, latest.experimentId))
    : undefined;

  // Attribution over the last 30 days (the API's reports cover up to 92).
  const to = now.toISOString().slice(0, 10);
  const days = Array.from({ length: 30 }, (_, back) =>
    new Date(Date.parse(`${to}T00:00:00Z`) - (29 - back) * 86_400_000).toISOString().slice(0, 10),
  );
  const counters = await readCounters({ client: deps.dynamoDb, table: deps.attributionTable }, days);
  const attribution = counters.length > 0 ? attributionReport(days[0] as string, to, counters) : undefined;

  const uplift = await readJson<NonNullable<ReportData['uplift']>>(deps.s3, deps.bucket, UPLIFT_REPORT_KEY);
  // The served model's own estimate from the drop folder's purchases, else the latest `price-eval` kept for it.
  const fromModel = manifest
    ? await readJson<PricingSummary>(deps.s3, deps.bucket, artifactKey(manifest.version, 'pricing'))
    : undefined;
  const pricing = fromModel?.trained
    ? fromModel
    : await readJson<NonNullable<ReportData['pricing']>>(deps.s3, deps.bucket, PRICING_REPORT_KEY);

  const ingestion = {
    files: 0,
    rowsIn: 0,
    accepted: 0,
    duplicates: 0,
    rejected: 0,
    byReason: {} as Record<string, number>,
  };
  for (const key of await listKeys(deps.s3, deps.bucket, `${DATA_LAKE_PREFIXES.reports}ingestion/`)) {
    const report = await readJson<IngestionReport>(deps.s3, deps.bucket, key);
    if (!report) continue;
    ingestion.files++;
    ingestion.rowsIn += report.rows_in;
    ingestion.accepted += report.accepted;
    ingestion.duplicates += report.duplicates;
    ingestion.rejected += report.rejected;
    for (const [reason, count] of Object.entries(report.rejected_by_reason ?? {})) {
      ingestion.byReason[reason] = (ingestion.byReason[reason] ?? 0) + (count as number);
    }
  }
  return {
    generatedAt: now.toISOString(),
    ...(model ? { model } : {}),
    ...(segments ? { segments } : {}),
    ...(propensity ? { propensity } : {}),
    ...(experiment ? { experiment } : {}),
    ...(attribution ? { attribution } : {}),
    ...(uplift ? { uplift } : {}),
    ...(pricing ? { pricing } : {}),
    ingestion,
  };
}
