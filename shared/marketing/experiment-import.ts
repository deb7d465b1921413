import type { ImportOutcome } from './experiment-store';
import type { ExperimentDefinition } from './experiments';

/** One user's arm in a campaign sent outside Mappa, and when they got it. */
export interface ImportedAssignment {
  readonly userId: string;
  readonly variant: string;
  readonly exposedAt?: string;
}

export interface ImportSummary {
  readonly imported: number;
  readonly alreadyAssigned: number;
  readonly conflicts: number;
  /** Up to 10 users already in another arm, who keep it. */
  readonly examples: { userId: string; variant: string; assigned: string }[];
}

/** The first assignment naming an arm the experiment does not have, or undefined. */
export function unknownArm(
  definition: ExperimentDefinition,
  assignments: readonly ImportedAssignment[],
): { index: number; message: string } | undefined {
  const arms = definition.variants.map((variant) => variant.name);
  const index = assignments.findIndex((assignment) => !arms.includes(assignment.variant));
  if (index < 0) return undefined;
  return {
    index,
    message: `is '${(assignments[index] as ImportedAssignment).variant}', not an arm of ${definition.experimentId} (${arms.join(', ')})`,
  };
}

/**
 * Imports assignments a few at a time (each is two conditional writes and a note on the user's record) and
 * counts what happened: the API's `POST /v1/experiments/{id}/assignments` and `mappa experiment import`.
 */
export async function importAssignments(
  assign: (
    userId: string,
    variant: string,
    exposedAt: Date,
  ) => Promise<{ outcome: ImportOutcome; assigned: string }>,
  assignments: readonly ImportedAssignment[],
  now: Date,
): Promise<ImportSummary> {
  const counts: Record<ImportOutcome, number> = { imported: 0, already_assigned: 0, conflict: 0 };
  const examples: ImportSummary['examples'] = [];
  for (let start = 0; start < assignments.length; start += 25) {
    await Promise.all(
      assignments.slice(start, start + 25).map(async ({ userId, variant, exposedAt }) => {
        const result = await assign(userId, variant, exposedAt ? new Date(exposedAt) : now);
        counts[result.outcome]++;
        if (result.outcome === 'conflict' && examples.length < 10)
          examples.push({ userId, variant, assigned: result.assigned });
      }),
    );
  }
  return {
    imported: counts.imported,
    alreadyAssigned: counts.already_assigned,
    conflicts: counts.conflict,
    examples,
  };
}
