import * as z from '../data/schema';

/**
 * Training hyper-parameters an operator may set (CDK context
 * `trainingHyperParameters`, passed to the task as MAPPA_TRAINING_CONFIG); the
 * rest keep the tested defaults of DEFAULT_TRAINING_CONFIG.
 */
const whole = (min: number, max: number) => z.int().check(z.minimum(min), z.maximum(max));

export const trainingOverridesSchema = z.partial(
  z.strictObject({
    embeddingDim: whole(8, 512),
    sequenceLength: whole(1, 200),
    batchSize: whole(16, 8192),
    epochs: whole(1, 1000),
    learningRate: z.number().check(z.positive(), z.maximum(1)),
    dropout: z.number().check(z.minimum(0), z.maximum(0.9)),
    patience: whole(1, 100),
    seed: z.int(),
    /** Number of customer segments (chosen by silhouette in 3..8 when absent). */
    segments: whole(2, 50),
  }),
);

export type TrainingOverrides = z.output<typeof trainingOverridesSchema>;
