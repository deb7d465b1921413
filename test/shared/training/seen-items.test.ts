import { decodeItemSet } from '../../../shared/data/item-set';
import { buildInteractionLog } from '../../../shared/ml/interactions';
import { seenItemSets } from '../../../shared/training/seen-items';

describe('seen-sets written with the user vectors', () => {
  const rows = [
    { user_id: 'a', item_id: 'x', timestamp: 1, event_type: 'view', event_value: null },
    { user_id: 'a', item_id: 'y', timestamp: 2, event_type: 'purchase', event_value: 10 },
    { user_id: 'b', item_id: 'z', timestamp: 3, event_type: 'view', event_value: null },
  ];
  const log = buildInteractionLog(rows);
  const ids = (bytes: Uint8Array) => [...decodeItemSet(bytes)].map((index) => log.itemIds[index]).sort();

  it('holds every item of the user’s history under the default policy', () => {
    const seen = seenItemSets(log, rows, 'all');
    expect(ids(seen(log.userIds.indexOf('a')))).toEqual(['x', 'y']);
    expect(ids(seen(log.userIds.indexOf('b')))).toEqual(['z']);
  });

  it('holds only the items of the stage’s excluded event types otherwise', () => {
    const seen = seenItemSets(log, rows, new Set(['purchase']));
    expect(ids(seen(log.userIds.indexOf('a')))).toEqual(['y']);
    expect(ids(seen(log.userIds.indexOf('b')))).toEqual([]);
  });
});
