import { combineFeedback, feedbackOf, parseEventPolicy } from '../../../shared/data/event-policy';
import { popularityScores } from '../../../shared/ml/baselines';
import { buildInteractionLog, leaveLastOut } from '../../../shared/ml/interactions';

const RATINGS = parseEventPolicy({ rating: { positiveThreshold: 3.5 } });

describe('the event policy', () => {
  it('reads explicit feedback: ratings at or above the threshold are positives, below negatives (or ignored)', () => {
    expect(feedbackOf(RATINGS, 'rating', 4)).toEqual({ signal: 1, weight: 1 });
    expect(feedbackOf(RATINGS, 'rating', 3.5)).toEqual({ signal: 1, weight: 1 });
    expect(feedbackOf(RATINGS, 'rating', 0.5)).toEqual({ signal: -1, weight: 1 });
    // A rating without its value says nothing about taste.
    expect(feedbackOf(RATINGS, 'rating', undefined)).toEqual({ signal: 0, weight: 0 });
    const ignoreLow = parseEventPolicy({ rating: { positiveThreshold: 3.5, belowThreshold: 'ignore' } });
    expect(feedbackOf(ignoreLow, 'rating', 2)).toEqual({ signal: 0, weight: 0 });
  });

  it('weighs types, declares negatives and ignored types, and falls back to * then to a positive of weight 1', () => {
    const policy = parseEventPolicy({
      purchase: { weight: 3 },
      dismissed: { role: 'negative', weight: 2 },
      impression: { role: 'ignore' },
      '*': { weight: 0.5 },
    });
    expect(feedbackOf(policy, 'purchase')).toEqual({ signal: 1, weight: 3 });
    expect(feedbackOf(policy, 'dismissed')).toEqual({ signal: -1, weight: 2 });
    expect(feedbackOf(policy, 'impression')).toEqual({ signal: 0, weight: 0 });
    expect(feedbackOf(policy, 'view')).toEqual({ signal: 1, weight: 0.5 });
    expect(feedbackOf(undefined, 'anything')).toEqual({ signal: 1, weight: 1 });
  });

  it('combines a pair’s events in time order: a later negative overrides, the strongest positive counts', () => {
    const purchase = { signal: 1, weight: 3 } as const;
    const view = { signal: 1, weight: 1 } as const;
    const returned = { signal: -1, weight: 2 } as const;
    const ignored = { signal: 0, weight: 0 } as const;
    expect(combineFeedback(purchase, view)).toEqual(purchase);
    expect(combineFeedback(purchase, returned)).toEqual(returned);
    expect(combineFeedback(returned, view)).toEqual(view);
    expect(combineFeedback(purchase, ignored)).toEqual(purchase);
  });

  it('rejects a policy it cannot apply, naming the field', () => {
    expect(() => parseEventPolicy({ rating: { weight: -1 } })).toThrow(/'rating.weight'/);
    expect(() => parseEventPolicy({ dismissed: { role: 'negative', positiveThreshold: 2 } })).toThrow(
      /'dismissed.positiveThreshold' positiveThreshold applies to role 'positive' only/,
    );
    expect(() => parseEventPolicy({ Rating: {} })).toThrow(/lower-case/);
  });
});

describe('the interaction log under an event policy', () => {
  const T = 1_700_000_000;

  it('keeps low ratings out of the positives and makes them negatives; every item stays known', () => {
    const rows = [
      { user_id: 'u', item_id: 'loved', timestamp: T, event_type: 'rating', event_value: 5 },
      { user_id: 'u', item_id: 'hated', timestamp: T + 1, event_type: 'rating', event_value: 0.5 },
      { user_id: 'u', item_id: 'liked', timestamp: T + 2, event_type: 'rating', event_value: 4 },
      { user_id: 'u', item_id: 'unrated', timestamp: T + 3, event_type: 'rating' },
    ];
    const log = buildInteractionLog(rows, RATINGS);
    const ids = (indices: ArrayLike<number>) => Array.from(indices, (index) => log.itemIds[index]);
    expect(log.itemIds).toEqual(['loved', 'hated', 'liked', 'unrated']);
    expect(ids(log.sequences[0] as Int32Array)).toEqual(['loved', 'liked']);
    expect(ids(log.negatives.items)).toEqual(['hated']);
    // Without a policy every rating is a positive, as before.
    expect(ids(buildInteractionLog(rows).sequences[0] as Int32Array)).toEqual([
      'loved',
      'hated',
      'liked',
      'unrated',
    ]);
  });

  it('reads an impression log: unclicked impressions are negatives, clicked ones positives', () => {
    const policy = parseEventPolicy({ impression: { role: 'negative', weight: 0.2 }, click: { weight: 1 } });
    const rows = [
      { user_id: 'u', item_id: 'a', timestamp: T, event_type: 'impression' },
      { user_id: 'u', item_id: 'b', timestamp: T, event_type: 'impression' },
      { user_id: 'u', item_id: 'c', timestamp: T, event_type: 'impression' },
      { user_id: 'u', item_id: 'b', timestamp: T + 5, event_type: 'click' },
      // Rows need not come in time order.
      { user_id: 'v', item_id: 'a', timestamp: T + 9, event_type: 'click' },
      { user_id: 'v', item_id: 'a', timestamp: T + 1, event_type: 'impression' },
    ];
    const log = buildInteractionLog(rows, policy);
    const name = (index: number) => log.itemIds[index];
    expect(Array.from(log.sequences[0] as Int32Array, name)).toEqual(['b']);
    expect(Array.from(log.sequences[1] as Int32Array, name)).toEqual(['a']);
    expect(Array.from(log.negatives.items, name).sort()).toEqual(['a', 'c']);
    expect(Array.from(log.negatives.weights)).toEqual([0.2, 0.2].map(Math.fround));
  });

  it('weighs purchases over views in the sequence, and a return after a purchase makes the pair negative', () => {
    const policy = parseEventPolicy({ purchase: { weight: 3 }, returned: { role: 'negative' } });
    const rows = [
      { user_id: 'u', item_id: 'kept', timestamp: T, event_type: 'view' },
      { user_id: 'u', item_id: 'kept', timestamp: T + 1, event_type: 'purchase' },
      { user_id: 'u', item_id: 'kept', timestamp: T + 2, event_type: 'view' },
      { user_id: 'u', item_id: 'back', timestamp: T + 3, event_type: 'purchase' },
      { user_id: 'u', item_id: 'back', timestamp: T + 4, event_type: 'returned' },
      { user_id: 'u', item_id: 'seen', timestamp: T + 5, event_type: 'view' },
    ];
    const log = buildInteractionLog(rows, policy);
    expect(Array.from(log.sequences[0] as Int32Array, (index) => log.itemIds[index])).toEqual([
      'kept',
      'seen',
    ]);
    expect(Array.from(log.weights[0] as Float32Array)).toEqual([3, 1]);
    expect(Array.from(log.negatives.items, (index) => log.itemIds[index])).toEqual(['back']);
  });

  it('makes the popularity baseline count weights and subtract negatives', () => {
    const policy = parseEventPolicy({ purchase: { weight: 3 }, dismissed: { role: 'negative' } });
    const rows = [
      ...['a', 'b', 'c'].map((user, offset) => ({
        user_id: user,
        item_id: 'bought',
        timestamp: T + offset,
        event_type: 'purchase',
      })),
      ...['a', 'b', 'c', 'd'].map((user, offset) => ({
        user_id: user,
        item_id: 'shown',
        timestamp: T + offset,
        event_type: 'view',
      })),
      ...['a', 'b', 'c'].map((user, offset) => ({
        user_id: user,
        item_id: 'shown',
        timestamp: T + 9 + offset,
        event_type: 'dismissed',
      })),
    ];
    const log = buildInteractionLog(rows, policy);
    const scores = popularityScores(leaveLastOut(log), log.itemIds.length);
    expect(scores[log.itemIds.indexOf('bought')]).toBe(9);
    // One view left, three dismissals: net negative, below any item nobody dismissed.
    expect(scores[log.itemIds.indexOf('shown')]).toBe(1 - 3);
  });
});
