import { type IngestionLedger, type IngestionDeps } from './ingestion-types';

/** The per-object ledger (DynamoDB, optimistic locking): how far a file's ingestion got. */
export async function saveLedger(
  deps: IngestionDeps,
  key: string,
  update: (stored: IngestionLedger | undefined) => IngestionLedger,
): Promise<IngestionLedger> {
  let saved: IngestionLedger | undefined;
  await deps.ledger.updateEach([key], (_key, stored) => {
    const next = update(stored);
    saved = next;
    return next === stored ? undefined : next;
  });
  return saved as IngestionLedger;
}
