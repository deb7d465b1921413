import type { ExperimentStore } from '../marketing/experiment-store';
import type { ExperimentDefinition } from '../marketing/experiments';

/**
 * Experiment definitions as the API functions see them: definitions never
 * change once created, so each is cached for the container's life; the list of
 * running experiments is re-read at most every `ttlMs`.
 */
export class ExperimentDirectory {
  private readonly definitions = new Map<string, ExperimentDefinition>();
  private runningList: { at: number; list: Promise<ExperimentDefinition[]> } | undefined;

  constructor(
    readonly store: ExperimentStore,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async get(experimentId: string): Promise<ExperimentDefinition | undefined> {
    const cached = this.definitions.get(experimentId);
    if (cached) return cached;
    const definition = await this.store.get(experimentId);
    if (definition) this.definitions.set(experimentId, definition);
    return definition;
  }

  running(): Promise<ExperimentDefinition[]> {
    if (!this.runningList || this.now() - this.runningList.at >= this.ttlMs) {
      const list = this.store.running();
      this.runningList = { at: this.now(), list };
      // A failed read is not cached.
      list.catch(() => {
        if (this.runningList?.list === list) this.runningList = undefined;
      });
    }
    return this.runningList.list;
  }
}
