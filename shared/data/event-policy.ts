import * as z from './schema';

/**
 * What each event type means for learning: how much a positive counts, whether the type is a negative signal
 * (an impression without a click, "dismissed", "returned"), and — for explicit feedback such as ratings —
 * from which `event_value` on an event is positive. Declared in the interactions dataset's
 * `incoming/interactions/_mapping.json` under `events` (docs/data-formats.md); the training job reads it and
 * records it in the model manifest so serving reads `recent` history the same way.
 *
 * `*` sets the default for types not listed; without any policy every event is a positive of weight 1.
 */
export const eventTypePolicySchema = z
  .strictObject({
    /** positive (default), negative, or ignore (kept as history and "seen", never learned from). */
    role: z._default(z.enum(['positive', 'negative', 'ignore']), 'positive'),
    /** How much one such event counts in the loss relative to others (purchase 3 vs view 1, say). */
    weight: z._default(z.number().check(z.positive(), z.maximum(1000)), 1),
    /** Events with `event_value` below this are not positives (e.g. ratings below 3.5). */
    positiveThreshold: z.optional(z.number()),
    /** What an event below the threshold is: a negative (a disliked item) or ignored. @default negative */
    belowThreshold: z._default(z.enum(['negative', 'ignore']), 'negative'),
  })
  .check(
    z.refine((policy) => policy.role === 'positive' || policy.positiveThreshold === undefined, {
      message: "positiveThreshold applies to role 'positive' only",
      path: ['positiveThreshold'],
    }),
  );

const EVENT_TYPE_KEY = /^(\*|[a-z0-9_.:-]+)$/;

export const eventPolicySchema = z.record(z.string(), eventTypePolicySchema).check(
  z.superRefine((policy, context) => {
    for (const key of Object.keys(policy)) {
      if (!EVENT_TYPE_KEY.test(key)) {
        context.addIssue({
          code: 'custom',
          path: [key],
          message:
            'is not an event type as ingestion stores them (lower-case, e.g. "rating"), nor * for the default',
        });
      }
    }
  }),
);

export type EventTypePolicy = z.output<typeof eventTypePolicySchema>;
export type EventPolicy = z.output<typeof eventPolicySchema>;

/** How one event counts: `signal` +1 positive, -1 negative, 0 ignored; `weight` its loss weight. */
export interface Feedback {
  readonly signal: 1 | -1 | 0;
  readonly weight: number;
}

const POSITIVE: Feedback = { signal: 1, weight: 1 };

/** Classifies one event under a policy (no policy: every event is a positive of weight 1). */
export function feedbackOf(
  policy: EventPolicy | undefined,
  eventType: string,
  eventValue?: number | null,
): Feedback {
  const rule = policy?.[eventType] ?? policy?.['*'];
  if (!rule) return POSITIVE;
  if (rule.role === 'ignore') return { signal: 0, weight: 0 };
  if (rule.role === 'negative') return { signal: -1, weight: rule.weight };
  if (rule.positiveThreshold !== undefined) {
    // Explicit feedback without its value says nothing about taste.
    if (eventValue === undefined || eventValue === null || !Number.isFinite(eventValue))
      return { signal: 0, weight: 0 };
    if (eventValue < rule.positiveThreshold) {
      return rule.belowThreshold === 'negative'
        ? { signal: -1, weight: rule.weight }
        : { signal: 0, weight: 0 };
    }
  }
  return { signal: 1, weight: rule.weight };
}

/**
 * What a (user, item) pair's events add up to, in time order: a negative overrides what came before (returned
 * after purchase, a later low rating), a positive after a negative restores it, and among positives the
 * strongest counts (a view after a purchase does not weaken it). Ignored events leave the state as it was.
 */
export function combineFeedback(previous: Feedback | undefined, next: Feedback): Feedback {
  if (next.signal === 0) return previous ?? next;
  if (!previous || previous.signal <= 0 || next.signal < 0) return next;
  return { signal: 1, weight: Math.max(previous.weight, next.weight) };
}

/** Parses a policy from JSON (CLI `--events`), with an error naming the field. */
export function parseEventPolicy(value: unknown): EventPolicy {
  const parsed = eventPolicySchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `event policy field '${issue?.path.join('.') || '(root)'}' ${issue?.message ?? 'is invalid'}`,
    );
  }
  return parsed.data;
}
