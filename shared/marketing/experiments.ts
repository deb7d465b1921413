import { createHash } from 'node:crypto';
import * as z from '../data/schema';
import {
  type Comparison,
  normalQuantile,
  sampleSizePerVariant,
  type SampleSummary,
  twoProportionZTest,
  welchTTest,
} from './statistics';

/**
 * A/B experiments for campaigns and serving strategies: definitions, sticky
 * deterministic assignment, and the report with lifts, confidence intervals,
 * p-values and a power check.
 */
export const VARIANT_STRATEGIES = ['personalized', 'popular', 'trending'] as const;
/** Outcomes count for this many days after a user's exposure unless the experiment says otherwise. */
export const DEFAULT_ATTRIBUTION_WINDOW_DAYS = 30;
export type VariantStrategy = (typeof VARIANT_STRATEGIES)[number];

const variantSchema = z.strictObject({
  name: z.string().check(z.regex(/^[a-z0-9_-]{1,32}$/, 'must be 1-32 lower-case letters, digits, _ or -')),
  strategy: z
    .optional(z.enum(VARIANT_STRATEGIES, { error: `must be one of ${VARIANT_STRATEGIES.join(', ')}` }))
    .check(
      z.describe(
        "the recommendation strategy this arm serves; leave it out for arms that are something else (an e-mail, a discount), assigned by import or by Mappa's sticky hash, where recommendations keep the default",
      ),
    ),
  weight: z._default(z.number().check(z.positive('must be positive'), z.maximum(1000)), 1),
});

export const experimentSchema = z
  .strictObject({
    experimentId: z
      .string()
      .check(z.regex(/^[a-z0-9][a-z0-9-]{2,63}$/, 'must be 3-64 lower-case letters, digits or -')),
    name: z.optional(z.string().check(z.trim(), z.minLength(1), z.maxLength(200))),
    variants: z
      .array(variantSchema)
      .check(
        z.minLength(2, 'must hold at least two variants'),
        z.maxLength(5, 'must hold at most five variants'),
      ),
    control: z
      .optional(z.string())
      .check(z.describe('the variant others are compared with; the first by default')),
    /** Cost of one contact (one served recommendation list), for ROI. */
    costPerContact: z._default(z.number().check(z.minimum(0), z.maximum(1000)), 0),
    minimumDetectableLift: z
      ._default(z.number().check(z.positive(), z.maximum(10)), 0.1)
      .check(z.describe('relative lift in conversion rate the power check uses')),
    attributionWindowDays: z
      ._default(z.int().check(z.minimum(1), z.maximum(365)), DEFAULT_ATTRIBUTION_WINDOW_DAYS)
      .check(
        z.describe(
          "days after a user's exposure in which their events count as the arm's outcomes (by the event's own timestamp)",
        ),
      ),
  })
  .check(
    z.superRefine((value, context) => {
      const names = value.variants.map((variant) => variant.name);
      names.forEach((name, index) => {
        if (names.indexOf(name) !== index) {
          context.addIssue({
            code: 'custom',
            path: ['variants', index, 'name'],
            message: `repeats the variant name '${name}'`,
          });
        }
      });
      if (value.control !== undefined && !names.includes(value.control)) {
        context.addIssue({
          code: 'custom',
          path: ['control'],
          message: `names no variant (variants: ${names.join(', ')})`,
        });
      }
    }),
  );

export type ExperimentDefinition = z.output<typeof experimentSchema>;
export type Variant = ExperimentDefinition['variants'][number];

/** Sticky, deterministic assignment: a hash of experiment and user into the cumulative weights. */
export function assignVariant(definition: ExperimentDefinition, userId: string): Variant {
  const digest = createHash('sha256').update(`${definition.experimentId}\u0000${userId}`).digest();
  const unit = digest.readUInt32BE(0) / 2 ** 32;
  const total = definition.variants.reduce((sum, variant) => sum + variant.weight, 0);
  let cumulative = 0;
  for (const variant of definition.variants) {
    cumulative += variant.weight / total;
    if (unit < cumulative) return variant;
  }
  return definition.variants[definition.variants.length - 1] as Variant;
}

export function controlOf(definition: ExperimentDefinition): string {
  return definition.control ?? (definition.variants[0] as Variant).name;
}

/** What is stored per exposed user. */
export interface UserOutcome {
  readonly variant: string;
  readonly exposures: number;
  readonly clicks: number;
  readonly conversions: number;
  readonly revenue: number;
}

export interface VariantReport {
  readonly variant: string;
  readonly strategy?: VariantStrategy;
  readonly users: number;
  readonly exposures: number;
  readonly clicks: number;
  /** Clicks (views, clicks) per exposure. */
  readonly ctr: number;
  /** Users with at least one click, and their share of the arm's users (the binary visit/click outcome). */
  readonly clickers: number;
  readonly clickRate: number;
  /** Users with at least one purchase. */
  readonly converters: number;
  readonly conversionRate: number;
  readonly revenue: number;
  readonly revenuePerUser: number;
  readonly cost: number;
  /** (revenue − cost) / cost; null without a cost per contact. */
  readonly roi: number | null;
  /** Versus the control; absent for the control itself. */
  readonly vsControl?: { clickRate: Comparison; conversionRate: Comparison; revenuePerUser: Comparison };
}

export interface ExperimentReport {
  readonly experimentId: string;
  readonly control: string;
  readonly variants: VariantReport[];
  readonly power: {
    readonly minimumDetectableLift: number;
    readonly baselineConversionRate: number;
    readonly requiredUsersPerVariant: number | null;
    readonly smallestVariantUsers: number;
    /**
     * The smallest conversion-rate difference (absolute) the smallest variant can detect at the control's rate
     * (two-sided α 0.05, power 0.8); null before the control converts.
     */
    readonly minimumDetectableEffect: number | null;
    readonly underpowered: boolean;
  };
  readonly warnings: string[];
}

const round = (value: number, digits = 6) => (Number.isFinite(value) ? Number(value.toFixed(digits)) : value);

function roundComparison(comparison: Comparison): Comparison {
  return {
    difference: round(comparison.difference),
    relativeLift: round(comparison.relativeLift),
    ci95: [round(comparison.ci95[0]), round(comparison.ci95[1])],
    pValue: round(comparison.pValue),
    statistic: round(comparison.statistic),
  };
}

/**
 * One variant's outcomes summed over its users — what the experiments table keeps pre-aggregated (sharded
 * counters), so a report reads O(variants) items whatever the number of exposures.
 */
export interface VariantTotals {
  readonly users: number;
  readonly exposures: number;
  readonly clicks: number;
  /** Users with at least one click. */
  readonly clickers: number;
  /** Users with at least one conversion. */
  readonly converters: number;
  readonly revenue: number;
  /** Sum over users of their revenue squared: the spread Welch's test needs. */
  readonly revenueSquares: number;
}

export const NO_TOTALS: VariantTotals = {
  users: 0,
  exposures: 0,
  clicks: 0,
  clickers: 0,
  converters: 0,
  revenue: 0,
  revenueSquares: 0,
};

/** Per-variant totals of per-user outcomes (the reference the counters must equal). */
export function totalsOf(outcomes: readonly UserOutcome[]): Map<string, VariantTotals> {
  const totals = new Map<string, VariantTotals>();
  for (const outcome of outcomes) {
    const sum = totals.get(outcome.variant) ?? NO_TOTALS;
    totals.set(outcome.variant, {
      users: sum.users + 1,
      exposures: sum.exposures + outcome.exposures,
      clicks: sum.clicks + outcome.clicks,
      clickers: sum.clickers + (outcome.clicks > 0 ? 1 : 0),
      converters: sum.converters + (outcome.conversions > 0 ? 1 : 0),
      revenue: sum.revenue + outcome.revenue,
      revenueSquares: sum.revenueSquares + outcome.revenue ** 2,
    });
  }
  return totals;
}

/** Users' revenue as a sample: mean and unbiased variance from the sums. */
function revenueSample(totals: VariantTotals): SampleSummary {
  const n = totals.users;
  const mean = n > 0 ? totals.revenue / n : 0;
  const variance = n > 1 ? Math.max(totals.revenueSquares - n * mean * mean, 0) / (n - 1) : 0;
  return { n, mean, variance };
}

/** The report from per-user outcomes (tests, small experiments). */
export function experimentReport(
  definition: ExperimentDefinition,
  outcomes: readonly UserOutcome[],
): ExperimentReport {
  return experimentReportFromTotals(definition, totalsOf(outcomes));
}

export function experimentReportFromTotals(
  definition: ExperimentDefinition,
  totals: ReadonlyMap<string, VariantTotals>,
): ExperimentReport {
  const control = controlOf(definition);
  const controlTotals = totals.get(control) ?? NO_TOTALS;
  const variants = definition.variants.map((variant): VariantReport => {
    const sum = totals.get(variant.name) ?? NO_TOTALS;
    const { users, exposures, clicks, clickers, converters, revenue } = sum;
    const cost = definition.costPerContact * exposures;
    const report: VariantReport = {
      variant: variant.name,
      ...(variant.strategy ? { strategy: variant.strategy } : {}),
      users,
      exposures,
      clicks,
      ctr: round(exposures > 0 ? clicks / exposures : 0),
      clickers,
      clickRate: round(users > 0 ? clickers / users : 0),
      converters,
      conversionRate: round(users > 0 ? converters / users : 0),
      revenue: round(revenue, 2),
      revenuePerUser: round(users > 0 ? revenue / users : 0, 4),
      cost: round(cost, 2),
      roi: cost > 0 ? round((revenue - cost) / cost, 4) : null,
    };
    if (variant.name === control || users === 0 || controlTotals.users === 0) return report;
    return {
      ...report,
      vsControl: {
        clickRate: roundComparison(
          twoProportionZTest(controlTotals.clickers, controlTotals.users, clickers, users),
        ),
        conversionRate: roundComparison(
          twoProportionZTest(controlTotals.converters, controlTotals.users, converters, users),
        ),
        revenuePerUser: roundComparison(welchTTest(revenueSample(controlTotals), revenueSample(sum))),
      },
    };
  });
  const baseline = controlTotals.users > 0 ? controlTotals.converters / controlTotals.users : 0;
  const target = baseline * (1 + definition.minimumDetectableLift);
  const required = baseline > 0 && target < 1 ? sampleSizePerVariant(baseline, target) : null;
  const smallest = Math.min(...variants.map((variant) => variant.users));
  const underpowered = required === null || smallest < required;
  const minimumDetectableEffect =
    baseline > 0 && baseline < 1 && smallest > 0
      ? (normalQuantile(0.975) + normalQuantile(0.8)) * Math.sqrt((2 * baseline * (1 - baseline)) / smallest)
      : null;
  // The power note belongs beside a result that is not significant (how large an effect could have been
  // missed), never beside p ≈ 0.
  const inconclusive = variants.filter(
    (variant) =>
      variant.variant !== control && !((variant.vsControl?.conversionRate.pValue ?? Number.NaN) < 0.05),
  );
  const warnings: string[] = [];
  if (required === null) {
    warnings.push('no conversions in the control yet: the power of the test cannot be estimated');
  } else if (inconclusive.length > 0 && minimumDetectableEffect !== null) {
    const pValues = inconclusive
      .map((variant) => {
        const p = variant.vsControl?.conversionRate.pValue;
        return `${variant.variant}${p === undefined ? ' (no users yet)' : ` p = ${p.toPrecision(2)}`}`;
      })
      .join(', ');
    warnings.push(
      `not significant (${pValues}): with ${smallest} users in the smallest variant, differences under ` +
        `±${(minimumDetectableEffect * 100).toFixed(1)} points on the control's ${(baseline * 100).toFixed(1)}% conversion rate ` +
        `go undetected (α 0.05, power 0.8)` +
        (underpowered
          ? `; detecting a ${Math.round(definition.minimumDetectableLift * 100)}% lift needs ${required} users per variant`
          : ''),
    );
  }
  return {
    experimentId: definition.experimentId,
    control,
    variants,
    power: {
      minimumDetectableLift: definition.minimumDetectableLift,
      baselineConversionRate: round(baseline),
      requiredUsersPerVariant: required,
      smallestVariantUsers: smallest,
      minimumDetectableEffect: minimumDetectableEffect === null ? null : round(minimumDetectableEffect),
      underpowered,
    },
    warnings,
  };
}

/** Outcomes a batch of one user's events adds to an experiment. */
export function outcomeDelta(events: readonly { event_type: string; event_value?: number }[]): {
  clicks: number;
  conversions: number;
  revenue: number;
} {
  let clicks = 0;
  let conversions = 0;
  let revenue = 0;
  for (const event of events) {
    if (event.event_type === 'click' || event.event_type === 'view') clicks++;
    if (event.event_type === 'purchase') {
      conversions++;
      revenue += event.event_value ?? 0;
    }
  }
  return { clicks, conversions, revenue: Number(revenue.toFixed(2)) };
}

/** Assignments imported in one request (API Gateway's 10 MB body holds far more; this keeps a call short). */
export const MAX_IMPORTED_ASSIGNMENTS = 1_000;

/** `POST /v1/experiments/{id}/assignments`: who was in which arm of a campaign sent outside Mappa, and when. */
export const assignmentImportSchema = z.strictObject({
  assignments: z
    .array(
      z.strictObject({
        userId: z.string().check(z.trim(), z.minLength(1, 'must not be empty'), z.maxLength(256)),
        variant: z.string().check(z.minLength(1, 'must not be empty')),
        exposedAt: z.optional(
          z.iso
            .datetime({ offset: true })
            .check(z.describe('when the user got the treatment; the import time when absent')),
        ),
      }),
    )
    .check(
      z.minLength(1, 'must hold at least one assignment'),
      z.maxLength(MAX_IMPORTED_ASSIGNMENTS, `must hold at most ${MAX_IMPORTED_ASSIGNMENTS} assignments`),
    ),
});
