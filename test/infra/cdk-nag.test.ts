import { CfnResource } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { synthMappaStack } from '../support/synth';

describe('cdk-nag AwsSolutions checks on the whole app', () => {
  const { stack } = synthMappaStack();

  it('reports no unsuppressed errors', () => {
    const errors = Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*'));
    expect(errors.map((error) => `${error.id}: ${String(error.entry.data).split('\n')[0]}`)).toEqual([]);
  });

  it('reports no unsuppressed warnings', () => {
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'));
    expect(warnings.map((warning) => `${warning.id}: ${String(warning.entry.data).split('\n')[0]}`)).toEqual(
      [],
    );
  });

  it('suppresses only findings that exist, each with its own specific reason', () => {
    // The same app with suppressions ignored: every finding cdk-nag has, by resource path and rule.
    const strict = Annotations.fromStack(synthMappaStack({}, { ignoreSuppressions: true }).stack);
    const findings = new Set(
      [
        ...strict.findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
        ...strict.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
      ].map(
        (finding) =>
          `${finding.id.replace(/^\//, '')}|${String(finding.entry.data).split(':')[0]?.split('[')[0]}`,
      ),
    );
    const suppressions = stack.node
      .findAll()
      .filter((construct): construct is CfnResource => construct instanceof CfnResource)
      .flatMap((resource) => {
        const metadata = resource.cfnOptions.metadata as
          { cdk_nag?: { rules_to_suppress?: { id: string; reason: string }[] } } | undefined;
        return (metadata?.cdk_nag?.rules_to_suppress ?? []).map((rule) => ({
          ...rule,
          path: resource.node.path,
        }));
      });
    expect(suppressions.length).toBeGreaterThan(0);
    // A suppression applied to a construct lands on each resource under it; it is needed when at least one of
    // them has the finding. One that nothing triggers any more hides the next real finding of its rule: remove it.
    const needed = new Set(
      suppressions
        .filter((rule) => findings.has(`${rule.path}|${rule.id}`))
        .map((rule) => `${rule.id}|${rule.reason}`),
    );
    const unused = new Set(
      suppressions
        .map((rule) => `${rule.id}|${rule.reason}`)
        .filter((declaration) => !needed.has(declaration)),
    );
    expect([...unused]).toEqual([]);
    for (const rule of suppressions) expect(rule.reason.length).toBeGreaterThanOrEqual(30);
    // One reason per rule, not a sentence pasted under every rule.
    const rulesByReason = new Map<string, Set<string>>();
    for (const rule of suppressions)
      rulesByReason.set(rule.reason, (rulesByReason.get(rule.reason) ?? new Set()).add(rule.id));
    expect([...rulesByReason].filter(([, rules]) => rules.size > 1).map(([reason]) => reason)).toEqual([]);
  });
});
