import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedStack, type EmbeddedStackOptions } from '../../shared/local/embedded-stack';

/** Starts an embedded stack on free ports in a fresh temp directory; `stop()` removes it. */
export async function startTestStack(
  options: Omit<EmbeddedStackOptions, 'dataDir'> = {},
): Promise<{ stack: EmbeddedStack; stop: () => Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mappa-test-'));
  const stack = await EmbeddedStack.start({
    s3Port: 0,
    dynamoDbPort: 0,
    inMemoryDynamoDb: true,
    ...options,
    dataDir,
  });
  return {
    stack,
    stop: async () => {
      await stack.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
