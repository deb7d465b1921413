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

/** The list of running experiments, re-read at most every `ttlMs` (0 = on every call). */
export class RunningExperiments {
  private runningList: { at: number; list: Promise<ExperimentDefinition[]> } | undefined;

  constructor(
    private readonly read: () => Promise<ExperimentDefinition[]>,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  list(): Promise<ExperimentDefinition[]> {
    if (!this.runningList || this.now() - this.runningList.at >= this.ttlMs) {
      const list = this.read();
      this.runningList = { at: this.now(), list };
      // A failed read is not cached.
      list.catch(() => {
        if (this.runningList?.list === list) this.runningList = undefined;
      });
    }
    return this.runningList.list;
  }
}
