import * as z from '../data/schema';
import { MAX_ID_LENGTH, idProblem } from '../data/ids';

/** Request schemas of the API's path, query and body parts; docs/openapi.json is generated from them. */
/** User and item ids: the same rules ingestion applies (shared/data/ids.ts). */
export const idSchema = z.string().check(
  z.trim(),
  // Stated as checks too so the generated OpenAPI document shows the bounds.
  z.minLength(1, 'must not be empty'),
  z.maxLength(MAX_ID_LENGTH, {
    error: (issue) => idProblem(String(issue.input))?.message ?? `is longer than ${MAX_ID_LENGTH}`,
  }),
  z.superRefine((value, context) => {
    const problem = idProblem(value);
    if (problem && value.length > 0 && value.length <= MAX_ID_LENGTH)
      context.addIssue({ code: 'custom', input: value, message: problem.message });
  }),
);
const id = idSchema;

export const userPathSchema = z.strictObject({ userId: id });
export const itemPathSchema = z.strictObject({ itemId: id });
export const experimentPathSchema = z.strictObject({ experimentId: id });

const limit = z._default(
  z.pipe(
    z.coerce.number({ error: 'must be a number' }),
    z
      .int('must be a whole number')
      .check(z.minimum(1, 'must be at least 1'), z.maximum(100, 'must be at most 100')),
  ),
  10,
);
const price = z.pipe(
  z.coerce.number({ error: 'must be a number' }),
  z.number().check(z.minimum(0, 'must not be negative')),
);
const category = z.string().check(z.trim(), z.minLength(1, 'must not be empty'), z.maxLength(128));

function priceRangeOrdered(
  value: { min_price?: number | undefined; max_price?: number | undefined },
  context: z.core.$RefinementCtx,
) {
  if (value.min_price !== undefined && value.max_price !== undefined && value.min_price > value.max_price) {
    context.addIssue({
      code: 'custom',
      input: value,
      path: ['max_price'],
      message: 'must not be below min_price',
    });
  }
}

const include = z
  .optional(z.enum(['attributes'], { error: "must be 'attributes'" }))
  .check(
    z.describe(
      "attributes: add each item's stored attributes (everything the items dataset gave it: title, category, price, …)",
    ),
  );
const excludeSeen = z
  ._default(z.enum(['true', 'false'], { error: "must be 'true' or 'false'" }), 'true')
  .check(
    z.describe("Leave out items the user already interacted with (event types per the deployment's policy)"),
  );
const experiment = z
  .optional(
    z
      .string()
      .check(
        z.regex(
          /^[a-z0-9][a-z0-9-]{2,63}$/,
          'must be an experiment id (3-64 lower-case letters, digits or -)',
        ),
      ),
  )
  .check(
    z.describe(
      "Serve this user through an A/B experiment: the user's variant (sticky) decides the strategy, and the exposure is counted",
    ),
  );

export const FILTER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const filterName = z
  .string()
  .check(
    z.regex(
      FILTER_NAME_PATTERN,
      'must be a filter name (1-64 letters, digits, _ or -, starting with a letter or digit)',
    ),
  );
const filter = z
  .optional(filterName)
  .check(
    z.describe(
      'A named filter (POST /v1/filters) the items must pass; its $PARAMETERS are further query values in upper case, lists comma-separated (e.g. &CATEGORIES=books,toys)',
    ),
  );
const promotion = z
  .optional(filterName)
  .check(
    z.describe('A named filter a share of the list is drawn from (placed by score, marked `promotion`)'),
  );
const promotionShare = z
  .optional(
    z.pipe(
      z.coerce.number({ error: 'must be a number' }),
      z.number().check(z.minimum(0, 'must be between 0 and 1'), z.maximum(1, 'must be between 0 and 1')),
    ),
  )
  .check(z.describe('Share of the list the promotion fills (0-1, default 0.2)'));

function promotionShareNeedsPromotion(
  value: { promotion?: string | undefined; promotion_share?: number | undefined },
  context: z.core.$RefinementCtx,
) {
  if (value.promotion_share !== undefined && value.promotion === undefined) {
    context.addIssue({
      code: 'custom',
      input: value,
      path: ['promotion_share'],
      message: 'needs promotion (the named filter promoted items come from)',
    });
  }
}

const explorationWeight = z
  .optional(
    z.pipe(
      z.coerce.number({ error: 'must be a number' }),
      z.number().check(z.minimum(0, 'must be between 0 and 1'), z.maximum(1, 'must be between 0 and 1')),
    ),
  )
  .check(
    z.describe(
      "Share of the list offered to items added since training (marked reason 'new'); default: the stage's explorationWeight (0.3)",
    ),
  );
const explorationCutoff = z
  .optional(
    z.pipe(
      z.coerce.number({ error: 'must be a number' }),
      z.number().check(z.minimum(1, 'must be between 1 and 30'), z.maximum(30, 'must be between 1 and 30')),
    ),
  )
  .check(
    z.describe('Only items listed at most this many days ago are explored; default: the stage setting (30)'),
  );

export const recommendationsQuerySchema = z
  .strictObject({
    limit,
    exclude_seen: excludeSeen,
    experiment,
    category: z.optional(category).check(z.describe('Only items of this category')),
    min_price: z.optional(price),
    max_price: z.optional(price),
    include,
    filter,
    promotion,
    promotion_share: promotionShare,
    exploration_weight: explorationWeight,
    exploration_item_age_cutoff_days: explorationCutoff,
  })
  .check(z.superRefine(priceRangeOrdered), z.superRefine(promotionShareNeedsPromotion));

export const similarQuerySchema = z
  .strictObject({
    limit,
    include,
    category: z.optional(category).check(z.describe('Only items of this category')),
    min_price: z.optional(price),
    max_price: z.optional(price),
    filter,
  })
  .check(z.superRefine(priceRangeOrdered));

export const rankQuerySchema = z.strictObject({ filter });

export const filterPathSchema = z.strictObject({ name: filterName });

export const filterBodySchema = z.strictObject({
  name: filterName,
  expression: z
    .string()
    .check(
      z.minLength(1, 'must not be empty'),
      z.maxLength(2_500, 'must be at most 2500 characters'),
      z.describe(
        'e.g. EXCLUDE ItemID WHERE Interactions.event_type IN ("purchase") | INCLUDE ItemID WHERE Items.category IN ($CATEGORIES)',
      ),
    ),
});

export const MAX_RANK_ITEMS = 500;

export const rankBodySchema = z.strictObject({
  itemIds: z
    .array(id)
    .check(
      z.minLength(1, 'must hold at least one item id'),
      z.maxLength(MAX_RANK_ITEMS, `must hold at most ${MAX_RANK_ITEMS} item ids`),
    ),
  excludeSeen: z
    ._default(z.boolean({ error: 'must be true or false' }), false)
    .check(
      z.describe(
        "Leave out items the user already interacted with: the whole history the model was trained on plus events since (under the stage's excludeSeenEventTypes); they are listed in excludedItemIds.",
      ),
    ),
});

export const propensityQuerySchema = z.strictObject({
  target: z._default(z.enum(['purchase', 'churn'], { error: "must be 'purchase' or 'churn'" }), 'purchase'),
});

export const upliftQuerySchema = z.strictObject({
  experiment: id.check(z.describe('the running experiment whose uplift model scores the user')),
});

/** Longest range an attribution report covers (a quarter): 4 queries per day. */
export const MAX_ATTRIBUTION_DAYS = 92;
const day = z.string().check(
  z.regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date (YYYY-MM-DD)'),
  z.refine((value) => !Number.isNaN(Date.parse(`${value}T00:00:00Z`)), 'must be a real date'),
);

export const attributionQuerySchema = z
  .strictObject({
    from: z.optional(day).check(z.describe('First day (UTC, inclusive); default: 6 days before `to`')),
    to: z.optional(day).check(z.describe('Last day (UTC, inclusive); default: today')),
  })
  .check(
    z.superRefine((value, context) => {
      if (value.from !== undefined && value.to !== undefined && value.from > value.to) {
        context.addIssue({ code: 'custom', input: value, path: ['to'], message: 'must not be before from' });
      }
    }),
  );
