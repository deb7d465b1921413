import { localAccountPolicies } from '../../infra/local-policies';
import type { AccountPolicies } from '../local/iam/account-policies';
import { LOCAL_REGION } from '../local/local-account';

/** `--no-iam`, or MAPPA_LOCAL_IAM=off, turns the local IAM double off. */
export interface IamFlags {
  iam: boolean;
}

/**
 * The policies the local stack enforces for each deployable (from the
 * synthesized CDK app), or undefined when enforcement is turned off.
 */
export async function localIamPolicies(
  flags: IamFlags,
  env: NodeJS.ProcessEnv = process.env,
): Promise<AccountPolicies | undefined> {
  if (!flags.iam || env.MAPPA_LOCAL_IAM === 'off') return undefined;
  return await localAccountPolicies({ region: LOCAL_REGION });
}
