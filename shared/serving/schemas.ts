import { z } from 'zod';
import { idProblem } from '../data/ids';

/** Request schemas of the API's path, query and body parts (the OpenAPI document mirrors them). */
/** User and item ids: the same rules ingestion applies (shared/data/ids.ts). */
export const idSchema = z
  .string()
  .trim()
  .superRefine((value, context) => {
    const problem = idProblem(value);
    if (problem)
      context.addIssue({
        code: 'custom',
        message: problem.message === 'is empty' ? 'must not be empty' : problem.message,
      });
  });
const id = idSchema;

export const userPathSchema = z.strictObject({ userId: id });
export const itemPathSchema = z.strictObject({ itemId: id });
export const experimentPathSchema = z.strictObject({ experimentId: id });

const limit = z.coerce
  .number({ error: 'must be a number' })
  .int('must be a whole number')
  .min(1, 'must be at least 1')
  .max(100, 'must be at most 100')
  .default(10);
const price = z.coerce.number({ error: 'must be a number' }).min(0, 'must not be negative');
const category = z.string().trim().min(1, 'must not be empty').max(128);

function priceRangeOrdered(
  value: { min_price?: number; max_price?: number },
  context: z.RefinementCtx,
): void {
  if (value.min_price !== undefined && value.max_price !== undefined && value.min_price > value.max_price) {
    context.addIssue({ code: 'custom', path: ['max_price'], message: 'must not be below min_price' });
  }
}

/** `include=attributes` adds each item's stored attributes (title, category, …) to the response. */
const include = z.enum(['attributes'], { error: "must be 'attributes'" }).optional();

export const recommendationsQuerySchema = z
  .strictObject({
    limit,
    exclude_seen: z.enum(['true', 'false'], { error: "must be 'true' or 'false'" }).default('true'),
    experiment: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{2,63}$/, 'must be an experiment id (3-64 lower-case letters, digits or -)')
      .optional(),
    category: category.optional(),
    min_price: price.optional(),
    max_price: price.optional(),
    include,
  })
  .superRefine(priceRangeOrdered);

export const similarQuerySchema = z
  .strictObject({
    limit,
    include,
    category: category.optional(),
    min_price: price.optional(),
    max_price: price.optional(),
  })
  .superRefine(priceRangeOrdered);

export const MAX_RANK_ITEMS = 500;

export const rankBodySchema = z.strictObject({
  itemIds: z
    .array(id)
    .min(1, 'must hold at least one item id')
    .max(MAX_RANK_ITEMS, `must hold at most ${MAX_RANK_ITEMS} item ids`),
  /** Leave out items the user already interacted with (whole trained history plus events since). */
  excludeSeen: z.boolean({ error: 'must be true or false' }).default(false),
});

export const propensityQuerySchema = z.strictObject({
  target: z.enum(['purchase', 'churn'], { error: "must be 'purchase' or 'churn'" }).default('purchase'),
});
