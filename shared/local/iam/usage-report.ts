import type { Deployable } from '../../resources/deployables';

export interface IamDecision {
  readonly deployable: Deployable;
  readonly action: string;
  readonly resource: string;
  readonly allowed: boolean;
  /** The policy resource pattern that allowed the call (for the usage record). */
  readonly grantedBy?: string;
}

export type IamUsage = (IamDecision & { readonly count: number })[];

/** Decisions that differ only in the object behind one granted pattern count as one use. */
export function usageKey(entry: IamDecision): string {
  return [entry.deployable, entry.action, entry.allowed, entry.grantedBy ?? entry.resource].join('\u0000');
}

/** Merges usage records (e.g. from several test files or stacks). */
export function mergeIamUsage(records: readonly IamUsage[]): IamUsage {
  const merged = new Map<string, IamDecision & { count: number }>();
  for (const entry of records.flat()) {
    const key = usageKey(entry);
    const seen = merged.get(key);
    if (seen) seen.count += entry.count;
    else merged.set(key, { ...entry });
  }
  return [...merged.values()].sort(
    (a, b) =>
      a.deployable.localeCompare(b.deployable) ||
      a.action.localeCompare(b.action) ||
      (a.grantedBy ?? a.resource).localeCompare(b.grantedBy ?? b.resource),
  );
}

/**
 * A Markdown page of what each deployable really did: per role, every action
 * with the policy resource that allowed it (or the resource that was denied).
 */
export function formatIamUsage(usage: IamUsage, title: string): string {
  const lines = [
    `# ${title}`,
    '',
    'Every AWS call each deployable made through the local IAM double, evaluated against its role from the',
    'synthesized CDK template. "Granted by" is the policy resource that matched; a grant never listed here is a',
    'candidate for removal, and a denied row is a missing grant.',
    '',
  ];
  const byDeployable = new Map<string, IamUsage>();
  for (const entry of usage)
    byDeployable.set(entry.deployable, [...(byDeployable.get(entry.deployable) ?? []), entry]);
  for (const [deployable, entries] of byDeployable) {
    lines.push(
      `## ${deployable}`,
      '',
      '| action | granted by (or denied resource) | calls |',
      '|---|---|---:|',
    );
    for (const entry of entries) {
      const where = entry.allowed
        ? `\`${entry.grantedBy ?? entry.resource}\``
        : `**denied** \`${entry.resource}\``;
      lines.push(`| \`${entry.action}\` | ${where} | ${entry.count} |`);
    }
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}
