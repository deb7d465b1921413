import { SeededRandom } from '../../../shared/data/random';
import { parseEventPolicy } from '../../../shared/data/event-policy';
import { buildInteractionLog } from '../../../shared/ml/interactions';

/** Typed arrays as plain arrays, so two logs compare with toEqual. */
function plain(log: ReturnType<typeof buildInteractionLog>): unknown {
  return JSON.parse(
    JSON.stringify(log, (_key, value: unknown) =>
      ArrayBuffer.isView(value) ? Array.from(value as Int32Array) : value,
    ),
  );
}

describe('the columnar interaction log', () => {
  const random = new SeededRandom(3);
  const rows = Array.from({ length: 400 }, (_, index) => ({
    user_id: `u${random.int(15)}`,
    item_id: `i${random.int(30)}`,
    timestamp: 1_000 + index * 7, // distinct times: input order cannot matter
    event_type: random.next() < 0.2 ? 'return' : 'purchase',
  }));
  const policy = parseEventPolicy({ purchase: { weight: 2 }, return: { role: 'negative' } });

  it('does not depend on the order rows arrive in when their times differ', () => {
    const order = new SeededRandom(9).shuffle(Int32Array.from(rows, (_, index) => index));
    const shuffled = Array.from(order, (index) => rows[index] as (typeof rows)[number]);
    expect(plain(buildInteractionLog(shuffled, policy))).toEqual(plain(buildInteractionLog(rows, policy)));
  });

  it('numbers users and items by first appearance in time and keeps every row’s pair once', () => {
    const log = buildInteractionLog([...rows].reverse(), policy);
    const firstUsers = [...new Set(rows.map((row) => row.user_id))];
    const firstItems = [...new Set(rows.map((row) => row.item_id))];
    expect(log.userIds).toEqual(firstUsers);
    expect(log.itemIds).toEqual(firstItems);
    const pairs = new Set(rows.map((row) => `${row.user_id}|${row.item_id}`));
    const positives = log.sequences.reduce((sum, sequence) => sum + sequence.length, 0);
    expect(positives + log.negatives.users.length).toBe(pairs.size);
    log.timestamps.forEach((times) => expect([...times]).toEqual([...times].sort((a, b) => a - b)));
  });
});
