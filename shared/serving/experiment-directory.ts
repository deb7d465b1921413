import type { ExperimentDefinition } from '../marketing/experiments';

/**
 * Experiment definitions as the API functions see them. Each cache takes the
 * one read it needs as a function, so a function's bundle holds only the
 * DynamoDB calls its role allows.
 */

/** Definitions never change once created: each is cached for the container's life. */
export class ExperimentDefinitions {
  private readonly definitions = new Map<string, ExperimentDefinition>();

  constructor(private readonly read: (experimentId: string) => Promise<ExperimentDefinition | undefined>) {}

  async get(experimentId: string): Promise<ExperimentDefinition | undefined> {
    const cached = this.definitions.get(experimentId);
    if (cached) return cached;
    const definition = await this.read(experimentId);
    if (definition) this.definitions.set(experimentId, definition);
    return definition;
  }
}
