import { gunzipSync } from 'node:zlib';
import { serializeCurated } from '../../../shared/ingest/chunk-builder';
import { encodeCuratedInteractions } from '../../../shared/ingest/curated-json';
import type { InteractionRow } from '../../../shared/data/records';

const ROWS: InteractionRow[] = [
  { user_id: 'u1', item_id: 'i10', timestamp: 1_760_000_000, event_type: 'view' },
  { user_id: 'u2', item_id: 'i7', timestamp: 0, event_type: 'purchase', event_value: 12.5 },
  { user_id: 'u3', item_id: 'i8', timestamp: 100_000, event_type: 'purchase', event_value: 0 },
  { user_id: 'u4', item_id: 'i9', timestamp: 99_999, event_type: 'cart', event_value: 10_000_000 },
  // Strings that need escaping, non-ASCII text and a surrogate pair.
  { user_id: 'say "hi"', item_id: 'back\\slash', timestamp: 1_000_000_000, event_type: 'tab\there' },
  { user_id: 'Zoë', item_id: '商品-😀', timestamp: 9_999_999_999, event_type: 'view' },
  { user_id: 'ctrl\u0001', item_id: 'del\u007f', timestamp: 12_345_678_901, event_type: 'view' },
  // Numbers outside the digit fast path.
  { user_id: 'u5', item_id: 'i1', timestamp: 1.5, event_type: 'view', event_value: 1e-7 },
  { user_id: 'u6', item_id: 'i1', timestamp: 1e21, event_type: 'view', event_value: 123456789.123 },
];

describe('encodeCuratedInteractions', () => {
  it('writes exactly the JSON Lines JSON.stringify gives, row by row', () => {
    const expected = ROWS.map((row) => `${JSON.stringify(row)}\n`).join('');
    expect(encodeCuratedInteractions(ROWS).toString('utf8')).toBe(expected);
  });

  it('round-trips every row through JSON.parse', () => {
    const lines = encodeCuratedInteractions(ROWS).toString('utf8').trimEnd().split('\n');
    expect(lines.map((line) => JSON.parse(line))).toEqual(ROWS);
  });

  it('has room for ids made only of characters that need escaping', () => {
    const row = { user_id: '\u0001'.repeat(50), item_id: '"'.repeat(50), timestamp: 1, event_type: '\\' };
    expect(encodeCuratedInteractions([row]).toString('utf8')).toBe(`${JSON.stringify(row)}\n`);
  });

  it('gives an empty buffer for no rows, and serializeCurated gzips the same text', async () => {
    expect(encodeCuratedInteractions([]).length).toBe(0);
    const gzipped = await serializeCurated('interactions', ROWS);
    expect(gunzipSync(gzipped).toString('utf8')).toBe(encodeCuratedInteractions(ROWS).toString('utf8'));
  });
});
