import * as z from '../data/schema';
import { PROPENSITY_TARGETS } from '../contracts/artifacts';
import { assignmentImportSchema, experimentSchema } from '../marketing/experiments';
import { eventBatchSchema, eventSchema } from './events';
import { filterBodySchema, rankBodySchema } from './schemas';

/**
 * The API's response bodies as schemas, and the named components of the
 * OpenAPI document (`openapi.ts` builds docs/openapi.json from these and the
 * request schemas). Documentation and tests only: no Lambda imports this, so
 * describing responses costs the functions nothing.
 */
export const components = z.registry<{ id: string; description?: string }>();

const named = <Schema extends z.ZodMiniType>(id: string, schema: Schema, description?: string): Schema => {
  components.add(schema, { id, ...(description ? { description } : {}) });
  return schema;
};
const described = <Schema extends z.ZodMiniType>(schema: Schema, description: string): Schema =>
  schema.check(z.describe(description)) as Schema;

const int = () => z.int();
const dateTime = () => z.iso.datetime({ offset: true });

const attributeValue = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.null(),
  described(z.array(z.string()), "a list attribute's values (the mapping's lists, e.g. genres)"),
]);
const attributes = described(
  z.record(z.string(), attributeValue),
  "With include=attributes: the item's stored attributes",
);

export const strategySchema = named(
  'Strategy',
  described(
    z.enum(['personalized', 'cold_start', 'fallback', 'popular', 'trending']),
    "personalized: scored with the user's vector; cold_start: unknown user, trending items; fallback: the feature store was unavailable, popular items; popular / trending: an experiment variant serving that baseline",
  ),
);

const scoredItem = named(
  'ScoredItem',
  z.strictObject({ itemId: z.string(), score: z.number(), attributes: z.optional(attributes) }),
);

const recommendedItem = named(
  'RecommendedItem',
  z.strictObject({
    itemId: z.string(),
    score: described(
      z.number(),
      "Model score (dot product) when personalized; otherwise the baseline's popularity share",
    ),
    reason: z.optional(described(z.string(), 'e.g. "because you purchased i42"')),
    reasonItemId: z.optional(z.string()),
    promotion: z.optional(described(z.string(), 'The promotion (named filter) that placed this item')),
    attributes: z.optional(attributes),
  }),
);

named(
  'Recommendations',
  z.strictObject({
    userId: z.string(),
    modelVersion: z.string(),
    recommendationId: described(
      z.string(),
      'Identifies this list; send it back on events (POST /v1/events) to attribute clicks and conversions to it',
    ),
    strategy: strategySchema,
    items: z.array(recommendedItem),
    experiment: z.optional(z.string()),
    variant: z.optional(z.string()),
    filter: z.optional(described(z.string(), 'The named filter applied')),
    promotion: z.optional(described(z.string(), 'The named filter promoted items came from')),
  }),
);

named('RankRequest', rankBodySchema);

named(
  'Ranking',
  z.strictObject({
    userId: z.string(),
    modelVersion: z.string(),
    recommendationId: described(
      z.string(),
      'Identifies this list; send it back on events (POST /v1/events) to attribute clicks and conversions to it',
    ),
    strategy: strategySchema,
    filter: z.optional(described(z.string(), 'The named filter applied')),
    items: z.array(scoredItem),
    unknownItemIds: z.array(z.string()),
    filteredItemIds: z.optional(
      described(z.array(z.string()), 'With a filter: requested ids the filter left out.'),
    ),
    excludedItemIds: z.optional(
      described(
        z.array(z.string()),
        'With excludeSeen: requested ids left out because the user already interacted with them.',
      ),
    ),
  }),
);

named(
  'SimilarItems',
  z.strictObject({
    itemId: z.string(),
    modelVersion: z.string(),
    recommendationId: described(
      z.string(),
      'Identifies this list; send it back on events (POST /v1/events) to attribute clicks and conversions to it',
    ),
    filter: z.optional(described(z.string(), 'The named filter applied')),
    items: z.array(scoredItem),
    note: z.optional(
      described(
        z.string(),
        'Present when fewer than `limit` items are similar at all (cosine similarity above 0, within the filter): the list is not padded with dissimilar items.',
      ),
    ),
  }),
);

named('FilterRequest', filterBodySchema);

const filterSchema = named(
  'Filter',
  z.strictObject({
    name: z.string(),
    expression: z.string(),
    parameters: described(
      z.array(z.string()),
      'The $PARAMETERS a request applying the filter must give as query values',
    ),
    reads: described(z.array(z.enum(['Items', 'Interactions'])), 'The datasets the expression tests'),
    createdAt: dateTime(),
  }),
);

named('Filters', z.strictObject({ filters: z.array(filterSchema) }));

named('DeletedFilter', z.strictObject({ ...filterSchema.def.shape, deleted: z.literal(true) }));

named(
  'FilterExpressionError',
  z.object({
    error: z.literal('invalid_filter_expression'),
    message: z.string(),
    field: z.literal('expression'),
    in: z.literal('body'),
    position: described(int().check(z.minimum(0)), '0-based offset into the expression the error points at'),
  }),
);

const rate = named(
  'Rate',
  z.strictObject({
    value: z.number(),
    ci95: described(z.tuple([z.number(), z.number()]), '95% confidence interval (Wilson for rates)'),
  }),
);
const attributionCounters = {
  requests: described(int(), 'Lists served'),
  impressions: described(int(), 'Items shown in them'),
  clicks: described(int(), 'Views and clicks that carried their recommendationId'),
  conversions: described(int(), 'Purchases that carried their recommendationId'),
  revenue: z.number(),
  revenueSquares: described(z.number(), 'Sum of squared purchase values (for the revenue interval)'),
  ctr: rate,
  conversionRate: rate,
  revenuePerImpression: rate,
};
const attributionRow = named('AttributionRow', z.strictObject(attributionCounters));
named(
  'Attribution',
  z.strictObject({
    from: z.string(),
    to: z.string(),
    totals: attributionRow,
    bySurface: z.array(
      z.strictObject({
        surface: z.enum(['recommendations', 'rank', 'similar', 'batch']),
        ...attributionCounters,
      }),
    ),
    byStrategy: z.array(z.strictObject({ strategy: z.string(), ...attributionCounters })),
    byFilter: z.array(
      z.strictObject({
        filter: described(z.nullable(z.string()), 'null: lists served without a named filter'),
        ...attributionCounters,
      }),
    ),
    byPromotion: z.array(z.strictObject({ promotion: z.nullable(z.string()), ...attributionCounters })),
    byExperiment: z.array(
      z.strictObject({ experiment: z.string(), variant: z.string(), ...attributionCounters }),
    ),
  }),
);

named(
  'ForgetReport',
  z.strictObject({
    userId: z.string(),
    forgottenAt: described(dateTime(), 'When the user was first forgotten (a repeated request keeps it)'),
    deleted: z.strictObject({
      features: described(z.boolean(), 'The feature record (RFM, counts, recent history) existed'),
      recentInteractions: int(),
      vectors: described(
        int(),
        'Precomputed vectors, with their propensity scores and seen-sets, one per model version',
      ),
      experimentAssignments: int(),
    }),
    curatedData: z.union([
      z.strictObject({ clean: z.literal(true), cleanAt: dateTime() }),
      z.strictObject({ clean: z.literal(false), note: z.string() }),
    ]),
  }),
);

named('Event', eventSchema);
named('EventBatch', eventBatchSchema);

named(
  'EventsAccepted',
  z.strictObject({
    accepted: int().check(z.minimum(1)),
    users: int().check(z.minimum(1)),
    attributed: z.optional(
      described(int().check(z.minimum(1)), 'experiment user records the events added outcomes to'),
    ),
    recommendationOutcomes: z.optional(
      described(
        int().check(z.minimum(1)),
        'events counted as clicks or conversions of the list their recommendationId names (repeats are not)',
      ),
    ),
  }),
);

named(
  'Model',
  z.strictObject({
    version: z.string(),
    trainedAt: dateTime(),
    numItems: int(),
    numUsers: int(),
    embeddingDim: int(),
    metrics: z.object({
      ndcg10: z.number(),
      hr10: z.number(),
      popularityNdcg10: z.number(),
      sampledHr10: z.number(),
    }),
    serving: described(
      z.enum(['model', 'baselines']),
      "'baselines' until a model passes the quality gate: recommendations then answer with the popularity baseline (strategy 'fallback') and similar items with item-kNN.",
    ),
  }),
);

const dependencyState = z.enum(['ok', 'unavailable']);
named(
  'Health',
  z.strictObject({
    status: described(
      z.enum(['ok', 'waiting_for_model', 'degraded']),
      'degraded: a dependency does not answer (see failed); recommendations then fall back to non-personal lists',
    ),
    modelVersion: z.nullable(z.string()),
    dependencies: z.strictObject({
      modelStore: described(dependencyState, 'the model manifest and artifacts in S3'),
      featureStore: described(dependencyState, 'the users table in DynamoDB'),
    }),
    failed: z.optional(z.array(z.enum(['modelStore', 'featureStore']))),
  }),
);

const issue = named('Issue', z.strictObject({ field: z.string(), message: z.string() }));

export const validationErrorSchema = named(
  'ValidationError',
  z.strictObject({
    error: z.enum([
      'validation_error',
      'item_not_found',
      'user_not_segmented',
      'experiment_not_found',
      'experiment_exists',
      'user_not_scored',
      'experiment_not_scored',
      'filter_not_found',
      'filter_exists',
      'filter_invalid',
      'too_many_filters',
    ]),
    message: z.string(),
    field: z.string(),
    in: z.enum(['path', 'query', 'body']),
    issues: z.optional(z.array(issue)),
  }),
);

export const errorSchema = named(
  'Error',
  z.strictObject({ error: z.string(), message: z.string(), requestId: z.optional(z.string()) }),
);

export const gatewayErrorSchema = named('GatewayError', z.strictObject({ message: z.string() }));

const meanMedian = z.object({ mean: z.number(), median: z.number() });
const segmentProfile = named(
  'SegmentProfile',
  z.strictObject({
    segment: int(),
    name: z.string(),
    description: described(z.string(), 'e.g. "frequent high-spend buyers of electronics"'),
    size: int(),
    share: z.number(),
    rfm: z.object({ recencyDays: meanMedian, frequency: meanMedian, monetary: meanMedian }),
    topCategories: z.array(
      z.object({
        category: z.string(),
        share: z.number(),
        lift: described(z.number(), "the category's share in the segment over its share among all users"),
      }),
    ),
    topItems: z.array(z.object({ itemId: z.string(), count: int() })),
    behaviour: described(z.record(z.string(), z.number()), 'share of each event type'),
  }),
);

named('Segments', z.strictObject({ modelVersion: z.string(), k: int(), segments: z.array(segmentProfile) }));

named(
  'UserSegment',
  z.strictObject({
    userId: z.string(),
    modelVersion: z.string(),
    segment: z.string(),
    description: z.string(),
    profile: segmentProfile,
  }),
);

named('ExperimentDefinition', experimentSchema);
named('AssignmentImport', assignmentImportSchema);
named(
  'AssignmentImportResult',
  z.strictObject({
    experimentId: z.string(),
    imported: described(int(), 'users assigned by this request'),
    alreadyAssigned: described(int(), 'users already in the same arm (a repeated import)'),
    conflicts: described(int(), 'users already in another arm, who keep it'),
    examples: described(
      z.array(z.strictObject({ userId: z.string(), variant: z.string(), assigned: z.string() })),
      'up to 10 of the conflicts',
    ),
  }),
);

named(
  'Experiment',
  z.strictObject({
    ...experimentSchema.shape,
    status: z.enum(['running']),
    createdAt: dateTime(),
  }),
);

const comparison = named(
  'Comparison',
  z.object({
    difference: z.number(),
    relativeLift: z.nullable(z.number()),
    ci95: z.tuple([z.nullable(z.number()), z.nullable(z.number())]),
    pValue: z.nullable(z.number()),
    statistic: z.nullable(z.number()),
  }),
);

const variantReport = named(
  'VariantReport',
  z.strictObject({
    variant: z.string(),
    strategy: z.optional(z.string()),
    users: int(),
    exposures: int(),
    clicks: int(),
    ctr: z.number(),
    clickers: described(int(), 'users with at least one view or click'),
    clickRate: z.number(),
    converters: int(),
    conversionRate: z.number(),
    revenue: z.number(),
    revenuePerUser: z.number(),
    cost: z.number(),
    roi: z.nullable(z.number()),
    vsControl: z.optional(
      described(
        z.object({ clickRate: comparison, conversionRate: comparison, revenuePerUser: comparison }),
        "two-proportion z-tests on the binary outcomes (clicked, converted); Welch's t-test on revenue per user",
      ),
    ),
  }),
);

named(
  'ExperimentReport',
  z.strictObject({
    experimentId: z.string(),
    control: z.string(),
    variants: z.array(variantReport),
    power: z.object({
      minimumDetectableLift: z.number(),
      baselineConversionRate: z.number(),
      requiredUsersPerVariant: z.nullable(int()),
      smallestVariantUsers: int(),
      minimumDetectableEffect: z.nullable(z.number()),
      underpowered: z.boolean(),
    }),
    warnings: z.array(z.string()),
  }),
);

named(
  'Uplift',
  z.strictObject({
    userId: z.string(),
    modelVersion: z.string(),
    experimentId: z.string(),
    control: z.string(),
    uplift: described(z.number(), 'predicted conversion probability with the treatment minus without it'),
    decile: int().check(z.minimum(1), z.maximum(10)),
    estimator: z.string(),
    qini: described(z.number(), "the model's held-out Qini coefficient (0 = random targeting, 1 = perfect)"),
    experimentUsers: int(),
  }),
);

named(
  'Propensity',
  z.strictObject({
    userId: z.string(),
    modelVersion: z.string(),
    target: z.enum(PROPENSITY_TARGETS),
    probability: z.number().check(z.minimum(0), z.maximum(1)),
    decile: int().check(z.minimum(1), z.maximum(10)),
    definition: described(z.string(), 'what the label means, e.g. "buys at least once in the next 30 days"'),
    validationAuc: z.nullable(z.number()),
  }),
);
