import { recordServed } from '../marketing/attribution-store';
import { recommendationId, type ServedContext } from '../marketing/attribution';
import type { Logger } from '../observability/logger';
import type { ApiDeps } from './api';
import { isTransientDynamoDbError } from './user-state';

/** Counts a served list for attribution and mints the `recommendationId` its response carries. */
export type MarkServed = (
  context: Omit<ServedContext, 'servedAt'>,
  items: number,
  log: Logger,
) => Promise<string>;

/**
 * The scoring functions' attribution: one counter update per response. A busy or unavailable table costs
 * the count, never the response (logged); any other failure (a missing grant) is an error to see.
 */
export function markServedWith(base: ApiDeps): MarkServed {
  const table = { client: base.dynamoDb, table: base.tables.attribution };
  return async (context, items, log) => {
    const served: ServedContext = {
      ...context,
      servedAt: Math.floor((base.now?.() ?? new Date()).getTime() / 1000),
    };
    try {
      await recordServed(table, served, { lists: 1, items });
    } catch (error) {
      if (!isTransientDynamoDbError(error)) throw error;
      log.warn('attribution counter not updated; the list is served uncounted', { error });
    }
    return recommendationId(served);
  };
}
