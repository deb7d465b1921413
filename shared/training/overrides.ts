import { z } from 'zod';

/**
 * Training hyper-parameters an operator may set (CDK context
 * `trainingHyperParameters`, passed to the task as MAPPA_TRAINING_CONFIG); the
 * rest keep the tested defaults of DEFAULT_TRAINING_CONFIG.
 */
export const trainingOverridesSchema = z
  .strictObject({
    embeddingDim: z.number().int().min(8).max(512),
    sequenceLength: z.number().int().min(1).max(200),
    batchSize: z.number().int().min(16).max(8192),
    epochs: z.number().int().min(1).max(1000),
    learningRate: z.number().positive().max(1),
    dropout: z.number().min(0).max(0.9),
    patience: z.number().int().min(1).max(100),
    seed: z.number().int(),
    /** Number of customer segments (chosen by silhouette in 3..8 when absent). */
    segments: z.number().int().min(2).max(50),
  })
  .partial();

export type TrainingOverrides = z.output<typeof trainingOverridesSchema>;
