import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localAccountPolicies } from '../../infra/local-policies';
import { EmbeddedStack, type EmbeddedStackOptions, LOCAL_REGION } from '../../shared/local/embedded-stack';
import type { AccountPolicies } from '../../shared/local/iam/account-policies';
import { IamUsageRecorder } from '../../shared/local/iam/enforcement';

/** Where each test process leaves its IAM usage record; test/support/global-teardown.ts merges them. */
export const IAM_USAGE_DIR = join(tmpdir(), 'mappa-test-iam-usage');

/** The deployables' policies of the default `cdk synth`, as local mode enforces them. */
export function defaultPolicies(): Promise<AccountPolicies> {
  return localAccountPolicies({ region: LOCAL_REGION });
}

/**
 * Starts an embedded stack on free ports in a fresh temp directory, with
 * every deployable's IAM enforced from the synthesized app unless `iam` says
 * otherwise; `stop()` removes it and records the IAM usage.
 */
export async function startTestStack(
  options: Omit<EmbeddedStackOptions, 'dataDir' | 'iam'> & { iam?: AccountPolicies | false } = {},
): Promise<{ stack: EmbeddedStack; stop: () => Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mappa-test-'));
  const { iam, ...rest } = options;
  const policies = iam === false ? undefined : (iam ?? (await defaultPolicies()));
  const recorder = options.iamRecorder ?? new IamUsageRecorder();
  const stack = await EmbeddedStack.start({
    s3Port: 0,
    dynamoDbPort: 0,
    inMemoryDynamoDb: true,
    ...rest,
    ...(policies ? { iam: policies, iamRecorder: recorder } : {}),
    dataDir,
  });
  return {
    stack,
    stop: async () => {
      await stack.stop();
      rmSync(dataDir, { recursive: true, force: true });
      // Only the default policies describe the deployed roles; a test with edited policies, or its own
      // recorder (deliberate denials), is not part of the record.
      if (policies && iam === undefined && options.iamRecorder === undefined && recorder.usage().length > 0) {
        mkdirSync(IAM_USAGE_DIR, { recursive: true });
        writeFileSync(
          join(IAM_USAGE_DIR, `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.json`),
          JSON.stringify(recorder.usage()),
        );
      }
    },
  };
}

/**
 * A test stack for the enclosing `describe`: started in `beforeAll`, stopped in
 * `afterAll`. Returns a getter, valid inside the tests.
 */
export function useTestStack(options: Parameters<typeof startTestStack>[0] = {}): () => EmbeddedStack {
  let started: Awaited<ReturnType<typeof startTestStack>> | undefined;
  beforeAll(async () => {
    started = await startTestStack(options);
  });
  afterAll(() => started?.stop());
  return () => {
    if (!started) throw new Error('useTestStack: the stack is used outside a test');
    return started.stack;
  };
}
