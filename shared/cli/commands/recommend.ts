import type { Command } from 'commander';
import { makeHandler, recommendationsDeps } from '../../serving/handlers/recommendations';
import { apiGatewayEvent } from '../../local/api-server';
import { localApiDeps } from '../../local/api-wiring';
import { localLambdaContext } from '../../local/lambda-context';
import { createLogger } from '../../observability/logger';
import { CliError, parseIntegerOption, runAction } from '../errors';
import { openLocalServices } from '../local-services';
import { type StackFlags, withStackFlags } from './local';

interface RecommendFlags extends StackFlags {
  limit: number;
  category?: string;
  json?: boolean;
}

interface RecommendationsBody {
  userId: string;
  modelVersion: string;
  strategy: string;
  items: { itemId: string; score: number; reason?: string }[];
}

/** One user's recommendations as a small table. */
export function formatRecommendations(body: RecommendationsBody): string {
  const width = Math.max(7, ...body.items.map((item) => item.itemId.length));
  return [
    `${body.userId}: ${body.strategy} (model ${body.modelVersion})`,
    ...body.items.map((item, rank) =>
      `  ${String(rank + 1).padStart(2)}. ${item.itemId.padEnd(width)} ${item.score.toFixed(4).padStart(9)}  ${item.reason ?? ''}`.trimEnd(),
    ),
  ].join('\n');
}

export function registerRecommendCommand(program: Command): void {
  withStackFlags(
    program
      .command('recommend')
      .description('recommendations for one user from the local model (the API handler, invoked in-process)')
      .argument('<userId>', 'the user to recommend for')
      .option('--limit <n>', 'how many items', parseIntegerOption('--limit', 1, 100), 10)
      .option('--category <name>', 'only items of this category')
      .option('--json', 'print the API response body as JSON'),
  ).action(
    runAction(async (userId: string, flags: RecommendFlags) => {
      const services = await openLocalServices(flags);
      try {
        const { settings, ...base } = localApiDeps(services, {
          log: createLogger({ service: 'mappa-recommend', level: 'error' }),
          writeMetrics: () => undefined,
        })('recommendations');
        const deps = recommendationsDeps(base, settings);
        const handler = makeHandler(() => deps);
        const query = new URLSearchParams({
          limit: String(flags.limit),
          ...(flags.category ? { category: flags.category } : {}),
        });
        const path = `/v1/users/${encodeURIComponent(userId)}/recommendations`;
        const event = apiGatewayEvent(
          {
            method: 'GET',
            url: new URL(`http://localhost${path}?${query}`),
            headers: {},
            body: Buffer.alloc(0),
          },
          '/v1/users/{userId}/recommendations',
          { userId },
          undefined,
          '127.0.0.1',
        );
        const response = await handler(event, localLambdaContext('mappa-api-recommendations'));
        const body = JSON.parse(response.body) as RecommendationsBody & { message?: string };
        if (response.statusCode !== 200)
          throw new CliError(body.message ?? `the API answered ${response.statusCode}`);
        process.stdout.write(
          flags.json ? `${JSON.stringify(body, null, 2)}\n` : `${formatRecommendations(body)}\n`,
        );
      } finally {
        await services.stop();
      }
    }),
  );
}
