import { SeededRandom } from '../data/random';

/**
 * The demo's tour of the running API: real HTTP calls against `mappa serve`'s
 * server, each printed with the curl command that reproduces it.
 */
interface Call {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

type Item = { itemId: string; score: number; reason?: string; promotion?: string };

/** What the tour needs beyond HTTP: listing new items in the drop folder, and the API picking them up. */
export interface TourHooks {
  /** Drops an items file with new items of the given category and price; returns their ids. */
  readonly listNewItems: (category: string, price: number) => Promise<string[]>;
  /** Waits until the API serves what was just ingested (its next manifest check). */
  readonly refresh: () => Promise<void>;
}

type Row = {
  impressions: number;
  clicks: number;
  conversions: number;
  ctr: { value: number; ci95: number[] };
};

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
        `${indent}${String(rank + 1).padStart(2)}. ${item.itemId.padEnd(8)} ${item.score.toFixed(3).padStart(8)}  ${item.reason ?? ''}${item.promotion ? ` [promoted: ${item.promotion}]` : ''}`.trimEnd(),
      )
      .join('\n');
  }

  /** Runs the tour; returns false when no model is being served. */
  async run(userIds: readonly string[], hooks?: TourHooks): Promise<boolean> {
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
    await this.businessRules(userIds);
    if (hooks) await this.newItems(userIds[0] as string, hooks);
    await this.forget(userIds[3] ?? (userIds[0] as string));
    return true;
  }

  /** Named filters, a promotion, and the attribution of clicks and purchases to the lists they came from. */
  private async businessRules(userIds: readonly string[]): Promise<void> {
    const user = encodeURIComponent(userIds[1] ?? (userIds[0] as string));
    this.write(
      '    named filters: affordable items the user has not bought, and a promotion of premium items\n',
    );
    await this.call('POST', '/v1/filters', {
      name: 'affordable',
      expression:
        'INCLUDE ItemID WHERE Items.price <= $MAX_PRICE | EXCLUDE ItemID WHERE Interactions.event_type IN ("purchase")',
    });
    await this.call('POST', '/v1/filters', {
      name: 'premium',
      expression: 'INCLUDE ItemID WHERE Items.price >= 60',
    });
    const filtered = await this.call(
      'GET',
      `/v1/users/${user}/recommendations?limit=5&filter=affordable&MAX_PRICE=25`,
    );
    this.write(
      `    ${decodeURIComponent(user)} with filter affordable (MAX_PRICE=25):\n${this.items(filtered.body.items)}\n`,
    );
    const promoted = await this.call(
      'GET',
      `/v1/users/${user}/recommendations?limit=10&filter=affordable&MAX_PRICE=25&promotion=premium&promotion_share=0.2`,
    );
    this.write(`    the same with 20% promoted from premium:\n${this.items(promoted.body.items)}\n\n`);

    // Shoppers click and buy from the lists they were shown; the events carry each list's recommendationId.
    const random = new SeededRandom(5);
    const events: Record<string, unknown>[] = [];
    for (const userId of userIds.slice(0, 200)) {
      const promotion = random.bernoulli(0.5);
      const served = await this.call(
        'GET',
        `/v1/users/${encodeURIComponent(userId)}/recommendations?limit=5&filter=affordable&MAX_PRICE=25${promotion ? '&promotion=premium&promotion_share=0.2' : ''}`,
        undefined,
        false,
      );
      for (const item of (served.body.items as Item[] | undefined) ?? []) {
        if (!random.bernoulli(item.promotion ? 0.12 : 0.06)) continue;
        const base = { userId, itemId: item.itemId, recommendationId: served.body.recommendationId };
        events.push({ ...base, eventType: 'click' });
        if (random.bernoulli(0.3)) events.push({ ...base, eventType: 'purchase', value: 30 });
      }
    }
    if (events[0])
      this.write(`    $ ${this.curl('POST', '/v1/events', events[0])}   # one of ${events.length} events\n`);
    for (let start = 0; start < events.length; start += 100) {
      await this.call('POST', '/v1/events', { events: events.slice(start, start + 100) }, false);
    }
    const attribution = await this.call('GET', '/v1/attribution');
    const body = attribution.body as { totals: Row; byPromotion: (Row & { promotion: string | null })[] };
    const line = (label: string, row: Row) =>
      `      ${label.padEnd(18)} ${String(row.impressions).padStart(6)} impressions  ${String(row.clicks).padStart(4)} clicks  ` +
      `CTR ${(row.ctr.value * 100).toFixed(1)}% (95% CI ${((row.ctr.ci95[0] as number) * 100).toFixed(1)}..${((row.ctr.ci95[1] as number) * 100).toFixed(1)})  ${row.conversions} conversions\n`;
    this.write('    attribution (clicks and purchases that carried the list’s recommendationId):\n');
    this.write(line('all lists', body.totals));
    for (const row of body.byPromotion)
      this.write(line(row.promotion ? `promotion ${row.promotion}` : 'no promotion', row));
    this.write('\n');
  }

  /** Items listed after training are served at once, with exploration slots marked new. */
  private async newItems(userId: string, hooks: TourHooks): Promise<void> {
    const user = encodeURIComponent(userId);
    const top = await this.call(
      'GET',
      `/v1/users/${user}/recommendations?limit=1&include=attributes`,
      undefined,
      false,
    );
    const first = (top.body.items as (Item & { attributes: Record<string, unknown> })[] | undefined)?.[0];
    const category = first?.attributes.category;
    if (typeof category !== 'string') return;
    const price = typeof first?.attributes.price === 'number' ? first.attributes.price : 20;
    const added = await hooks.listNewItems(category, price);
    await hooks.refresh();
    this.write(
      `    listed ${added.join(', ')} (category ${category}) after training; recommendations with exploration:\n`,
    );
    const explored = await this.call(
      'GET',
      `/v1/users/${user}/recommendations?limit=8&exploration_weight=0.25`,
    );
    this.write(`${this.items(explored.body.items)}\n`);
    const similar = await this.call(
      'GET',
      `/v1/items/${encodeURIComponent(added[0] as string)}/similar?limit=3`,
    );
    this.write(`    items similar to the new ${added[0]}:\n${this.items(similar.body.items)}\n\n`);
  }

  /** Forgetting a user: what was deleted, and cold start afterwards. */
  private async forget(userId: string): Promise<void> {
    const forgotten = await this.call('DELETE', `/v1/users/${encodeURIComponent(userId)}`);
    const deleted = forgotten.body.deleted as Record<string, unknown> | undefined;
    this.write(
      `    forgot ${userId}: feature record ${deleted?.features ? 'deleted' : 'absent'}, ${String(deleted?.recentInteractions)} recent interactions, ` +
        `${String(deleted?.vectors)} vectors, ${String(deleted?.experimentAssignments)} experiment assignments; curated data: ` +
        `${(forgotten.body.curatedData as { clean: boolean }).clean ? 'clean' : 'rewritten by the next training run (or mappa forget)'}\n`,
    );
    const after = await this.call(
      'GET',
      `/v1/users/${encodeURIComponent(userId)}/recommendations?limit=3`,
      undefined,
      false,
    );
    this.write(`    ${userId} is now served as ${String(after.body.strategy)}\n`);
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
