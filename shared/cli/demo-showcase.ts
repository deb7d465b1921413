import { SeededRandom } from '../data/random';

/**
 * The demo's tour of the running API: real HTTP calls against `mappa serve`'s
 * server, each printed with the curl command that reproduces it.
 */
interface Call {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

type Item = { itemId: string; score: number; reason?: string };

export class ApiTour {
  constructor(
    private readonly url: string,
    private readonly apiKey: string,
    private readonly write: (text: string) => void = (text) => process.stdout.write(text),
  ) {}

  private curl(method: string, path: string, body?: unknown): string {
    const data =
      body === undefined ? '' : ` -H 'content-type: application/json' -d '${JSON.stringify(body)}'`;
    return `curl -s${method === 'GET' ? '' : ` -X ${method}`} -H 'x-api-key: ${this.apiKey}'${data} '${this.url}${path}'`;
  }

  async call(method: string, path: string, body?: unknown, show = true): Promise<Call> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: { 'x-api-key': this.apiKey, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const parsed = (await response.json()) as Record<string, unknown>;
    if (show) this.write(`    $ ${this.curl(method, path, body)}\n`);
    return { status: response.status, body: parsed };
  }

  private items(items: unknown, indent = '      '): string {
    return (items as Item[])
      .map((item, rank) =>
        `${indent}${String(rank + 1).padStart(2)}. ${item.itemId.padEnd(8)} ${item.score.toFixed(3).padStart(8)}  ${item.reason ?? ''}`.trimEnd(),
      )
      .join('\n');
  }

  /** Runs the tour; returns false when no model is being served. */
  async run(userIds: readonly string[]): Promise<boolean> {
    const model = await this.call('GET', '/v1/model');
    if (model.status !== 200) {
      this.write(`    The API answers ${model.status}: ${String(model.body.message)}\n`);
      return false;
    }
    this.write(`    serving model ${String(model.body.version)}\n\n`);

    for (const userId of userIds.slice(0, 3)) {
      const response = await this.call(
        'GET',
        `/v1/users/${encodeURIComponent(userId)}/recommendations?limit=5`,
      );
      this.write(
        `    ${userId} (${String(response.body.strategy)}):\n${this.items(response.body.items)}\n\n`,
      );
    }
    const cold = await this.call('GET', '/v1/users/brand-new-visitor/recommendations?limit=5');
    this.write(`    brand-new-visitor (${String(cold.body.strategy)}):\n${this.items(cold.body.items)}\n\n`);

    const anchor = ((cold.body.items as Item[])[0] as Item).itemId;
    const similar = await this.call('GET', `/v1/items/${encodeURIComponent(anchor)}/similar?limit=5`);
    this.write(`    items similar to ${anchor}:\n${this.items(similar.body.items)}\n\n`);

    const segments = await this.call('GET', '/v1/segments');
    if (segments.status === 200) {
      this.write(`    ${String(segments.body.k)} customer segments:\n`);
      for (const profile of segments.body.segments as { name: string; size: number; description: string }[]) {
        this.write(
          `      ${profile.name.padEnd(4)} ${String(profile.size).padStart(6)} users  ${profile.description}\n`,
        );
      }
      const first = userIds[0] as string;
      const mine = await this.call('GET', `/v1/users/${encodeURIComponent(first)}/segment`);
      this.write(`    ${first} is in ${String(mine.body.segment)}: ${String(mine.body.description)}\n\n`);
    }

    const propensity = await this.call(
      'GET',
      `/v1/users/${encodeURIComponent(userIds[0] as string)}/propensity?target=purchase`,
    );
    if (propensity.status === 200) {
      this.write(
        `    ${userIds[0]}: purchase propensity ${(Number(propensity.body.probability) * 100).toFixed(1)}%, decile ${String(propensity.body.decile)} ` +
          `(${String(propensity.body.definition)}; validation AUC ${String(propensity.body.validationAuc)})\n\n`,
      );
    } else {
      this.write(`    propensity: ${String(propensity.body.message)}\n\n`);
    }

    await this.experiment(userIds);
    return true;
  }

  /**
   * An experiment personalized vs popular: every demo user is served through it
   * (real exposures); conversions are simulated (12% vs 8% buy the top item) to
   * show the report — real ones come from POST /v1/events.
   */
  private async experiment(userIds: readonly string[]): Promise<void> {
    const definition = {
      experimentId: `demo-${Date.now().toString(36)}`,
      variants: [
        { name: 'popular', strategy: 'popular', weight: 1 },
        { name: 'personalized', strategy: 'personalized', weight: 1 },
      ],
      costPerContact: 0.5,
    };
    await this.call('POST', '/v1/experiments', definition);
    const random = new SeededRandom(11);
    const events: { userId: string; itemId: string; eventType: string; value: number }[] = [];
    const sample = userIds.slice(0, 400);
    this.write(
      `    serving ${sample.length} users through ${definition.experimentId} (conversions simulated: 12% vs 8%)\n`,
    );
    for (const userId of sample) {
      const served = await this.call(
        'GET',
        `/v1/users/${encodeURIComponent(userId)}/recommendations?limit=5&experiment=${definition.experimentId}`,
        undefined,
        false,
      );
      const top = (served.body.items as Item[] | undefined)?.[0];
      const rate = served.body.variant === 'personalized' ? 0.12 : 0.08;
      if (top && random.bernoulli(rate)) {
        events.push({
          userId,
          itemId: top.itemId,
          eventType: 'purchase',
          value: Number((20 + random.next() * 60).toFixed(2)),
        });
      }
    }
    if (events[0])
      this.write(
        `    $ ${this.curl('POST', '/v1/events', events[0])}   # one of ${events.length} purchases\n`,
      );
    for (let start = 0; start < events.length; start += 100) {
      await this.call('POST', '/v1/events', { events: events.slice(start, start + 100) }, false);
    }
    const report = await this.call('GET', `/v1/experiments/${definition.experimentId}/report`);
    for (const variant of report.body.variants as {
      variant: string;
      users: number;
      conversionRate: number;
      revenuePerUser: number;
      roi: number | null;
      vsControl?: { conversionRate: { relativeLift: number; ci95: [number, number]; pValue: number } };
    }[]) {
      const lift = variant.vsControl
        ? `  lift ${(variant.vsControl.conversionRate.relativeLift * 100).toFixed(0)}% ` +
          `(95% CI ${(variant.vsControl.conversionRate.ci95[0] * 100).toFixed(1)}..${(variant.vsControl.conversionRate.ci95[1] * 100).toFixed(1)} pts, p=${variant.vsControl.conversionRate.pValue.toFixed(3)})`
        : '  (control)';
      this.write(
        `      ${variant.variant.padEnd(13)} ${String(variant.users).padStart(4)} users  conversion ${(variant.conversionRate * 100).toFixed(1)}%  ` +
          `revenue/user ${variant.revenuePerUser.toFixed(2)}  ROI ${variant.roi === null ? '-' : variant.roi.toFixed(2)}${lift}\n`,
      );
    }
    for (const warning of report.body.warnings as string[]) this.write(`      ! ${warning}\n`);
  }
}
