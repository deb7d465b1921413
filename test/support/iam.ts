import type { AccountPolicies, PolicyDocument } from '../../shared/local/iam/account-policies';
import type { Deployable } from '../../shared/resources/deployables';

/**
 * The policies with one grant taken away: `action` is removed from every
 * statement of the deployable's role whose resources mention `resourcePart`
 * (a statement left without actions goes). Throws if nothing matched, so a
 * negative control can never pass by removing nothing.
 */
export function withoutGrant(
  policies: AccountPolicies,
  deployable: Deployable,
  action: string,
  resourcePart: string,
): AccountPolicies {
  let removed = 0;
  const strip = (document: PolicyDocument): PolicyDocument => ({
    ...document,
    Statement: document.Statement.flatMap((statement) => {
      const actions = [statement.Action as string | string[]].flat();
      if (!actions.includes(action) || !JSON.stringify(statement.Resource).includes(resourcePart)) {
        return [statement];
      }
      removed += 1;
      const kept = actions.filter((candidate) => candidate !== action);
      return kept.length > 0 ? [{ ...statement, Action: kept }] : [];
    }),
  });
  const role = policies.deployables[deployable];
  const edited: AccountPolicies = {
    ...policies,
    deployables: {
      ...policies.deployables,
      [deployable]: {
        ...role,
        policies: role.policies.map((policy) => ({ ...policy, document: strip(policy.document) })),
      },
    },
  };
  if (removed === 0) throw new Error(`withoutGrant: ${deployable} has no ${action} on *${resourcePart}*`);
  return edited;
}
