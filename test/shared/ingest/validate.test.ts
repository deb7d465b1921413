import {
  DEFAULT_MAPPING,
  detectDelimiter,
  misplacedMappingField,
  parseMapping,
} from '../../../shared/ingest/mapping';
import type { SourceRecord } from '../../../shared/ingest/records';
import {
  canonicalHeader,
  missingRequiredColumns,
  parseTimestamp,
  RowValidator,
} from '../../../shared/ingest/validate';

const NOW = 1_767_225_600; // 2026-01-01
const record = (fields: string[], raw = fields.join(',')): SourceRecord => ({
  line: 2,
  raw,
  fields,
  endOffset: 0,
  nextLine: 3,
});

describe('parseTimestamp', () => {
  it.each([
    ['1760000000', 'auto', 1_760_000_000],
    ['1760000000123', 'auto', 1_760_000_000],
    ['1760000000.9', 'unix_seconds', 1_760_000_000],
    ['1760000000123', 'unix_millis', 1_760_000_000],
    ['2025-10-09T08:53:20Z', 'auto', 1_760_000_000],
    ['2025-10-09 10:53:20+02:00', 'iso8601', 1_760_000_000],
  ] as const)('parses %s (%s)', (raw, format, expected) => {
    expect(parseTimestamp(raw, format)).toBe(expected);
  });

  it.each([['yesterday'], [''], ['10/09/2025'], ['2025-13-45T00:00:00Z']])('rejects %s', (raw) => {
    expect(Number.isNaN(parseTimestamp(raw, 'auto'))).toBe(true);
  });
});

describe('headers and mappings', () => {
  it('normalises Personalize-style and spaced column names and applies renames', () => {
    const mapping = parseMapping(JSON.stringify({ columns: { 'Customer ID': 'user_id' } }));
    expect(canonicalHeader(['\uFEFFUSER_ID', 'Item Id', 'TIMESTAMP'], DEFAULT_MAPPING)).toEqual([
      'user_id',
      'item_id',
      'timestamp',
    ]);
    expect(canonicalHeader(['Customer ID', 'item-id'], mapping)).toEqual(['user_id', 'item_id']);
  });

  it('lists required columns that neither the header nor constants provide', () => {
    const mapping = parseMapping(JSON.stringify({ constants: { timestamp: '1760000000' } }));
    expect(missingRequiredColumns('interactions', ['user_id'], mapping)).toEqual(['item_id']);
  });

  it('names the offending mapping field', () => {
    expect(() => parseMapping('{"delimiter":"|"}')).toThrow("mapping field 'delimiter'");
    expect(() => parseMapping('{"colums":{}}')).toThrow('mapping field');
    expect(() => parseMapping('{')).toThrow('mapping is not valid JSON');
  });

  it('detects the delimiter from the header line', () => {
    expect(detectDelimiter('a;b;c')).toBe(0x3b);
    expect(detectDelimiter('a\tb')).toBe(0x09);
    expect(detectDelimiter('a,b;c,d')).toBe(0x2c);
  });
});

describe('RowValidator', () => {
  const header = ['user_id', 'item_id', 'timestamp', 'event_type', 'event_value'];
  const validator = new RowValidator('interactions', header, DEFAULT_MAPPING, 'csv', NOW);

  it('cleans a valid row: trims ids, lower-cases the event type, parses numbers', () => {
    expect(validator.validate(record([' u1 ', 'i1', '1760000000', 'PURCHASE', '12.5']))).toEqual({
      ok: true,
      clean: {
        dataset: 'interactions',
        row: {
          user_id: 'u1',
          item_id: 'i1',
          timestamp: 1_760_000_000,
          event_type: 'purchase',
          event_value: 12.5,
        },
      },
      unknownEventType: false,
    });
  });

  it('gives interactions without an event type the default type', () => {
    const noType = new RowValidator(
      'interactions',
      ['user_id', 'item_id', 'timestamp'],
      DEFAULT_MAPPING,
      'csv',
      NOW,
    );
    const result = noType.validate(record(['u1', 'i1', '1760000000']));
    expect(result.ok && result.clean.row).toMatchObject({ event_type: 'interaction' });
  });

  it('honours bounds from the mapping', () => {
    const strict = new RowValidator(
      'interactions',
      header,
      parseMapping('{"bounds":{"event_value":{"max":100}}}'),
      'csv',
      NOW,
    );
    expect(strict.validate(record(['u1', 'i1', '1760000000', 'purchase', '101']))).toEqual({
      ok: false,
      rejection: { reason: 'out_of_bounds', message: "'event_value' = 101 is outside [0, 100]" },
    });
  });

  it('types user attributes: numbers where numeric, text otherwise', () => {
    const users = new RowValidator('users', ['user_id', 'age', 'region'], DEFAULT_MAPPING, 'csv', NOW);
    const result = users.validate(record(['u1', '42', 'north']));
    expect(result.ok && result.clean.row).toEqual({ id: 'u1', attributes: { age: 42, region: 'north' } });
  });
});

describe('RowValidator interactions-CSV fast path', () => {
  it('gives exactly the generic path’s result for every kind of row', () => {
    const header = ['user_id', 'item_id', 'timestamp', 'event_type', 'event_value'];
    const mapping = parseMapping(JSON.stringify({ constants: { event_type: 'view' } }));
    const fast = new RowValidator('interactions', header, mapping, 'csv', NOW);
    const generic = new RowValidator('interactions', header, mapping, 'csv', NOW, { fastPath: false });
    const rows = [
      ['u1', 'i1', '1760000000', 'purchase', '9.5'],
      ['u1', 'i1', '1760000000', '', ''],
      [' ', 'i1', '1760000000', 'view', ''],
      ['u1', '', '1760000000', 'view', ''],
      ['u1', 'i1', 'soon', 'view', ''],
      ['u1', 'i1', '2025-10-09T08:53:20Z', 'VIEW', ''],
      ['u1', 'i1', '1760000000123', 'view', ''],
      ['u1', 'i1', '100', 'view', ''],
      ['u1', 'i1', '4102444800', 'view', ''],
      ['u1', 'i1', '1760000000', 'view', 'x'],
      ['u1', 'i1', '1760000000', 'view', '-1'],
      ['u1', 'i1', '1760000000', 'wishlist', '0'],
      ['u1', 'i1', '1760000000'],
      ['u1', 'i1', '', 'view', ''],
    ];
    for (const fields of rows)
      expect(fast.validate(record(fields))).toEqual(generic.validate(record(fields)));
  });
});

describe('list attributes and the event policy in mappings', () => {
  it('splits a list column on its separator into values, trimmed, without blanks or repeats', () => {
    const mapping = parseMapping(JSON.stringify({ lists: { genres: '|' } }));
    const validator = new RowValidator('items', ['item_id', 'title', 'genres'], mapping, 'csv', NOW);
    const result = validator.validate(
      record(['m1', 'Toy Story (1995)', 'Adventure| Animation||Children|Adventure']),
    );
    expect(result.ok && result.clean).toEqual({
      dataset: 'items',
      row: {
        id: 'm1',
        attributes: { title: 'Toy Story (1995)', genres: ['Adventure', 'Animation', 'Children'] },
      },
    });
    // A column not declared a list stays one value, separator and all.
    const plain = new RowValidator('items', ['item_id', 'genres'], DEFAULT_MAPPING, 'csv', NOW);
    expect(plain.validate(record(['m1', 'Adventure|Animation']))).toMatchObject({
      ok: true,
      clean: { row: { attributes: { genres: 'Adventure|Animation' } } },
    });
  });

  it('accepts the events policy only in the interactions dataset’s own mapping, and lists only for users and items', () => {
    const events = parseMapping(JSON.stringify({ events: { rating: { positiveThreshold: 3.5 } } }));
    expect(events.events?.rating).toEqual({
      role: 'positive',
      weight: 1,
      positiveThreshold: 3.5,
      belowThreshold: 'negative',
    });
    expect(misplacedMappingField(events, 'interactions', true)).toBeUndefined();
    expect(misplacedMappingField(events, 'interactions', false)).toMatch(
      /belongs in incoming\/interactions\/_mapping.json/,
    );
    expect(misplacedMappingField(events, 'items', true)).toMatch(/'events' applies to interactions only/);
    const lists = parseMapping(JSON.stringify({ lists: { genres: '|' } }));
    expect(misplacedMappingField(lists, 'items', false)).toBeUndefined();
    expect(misplacedMappingField(lists, 'interactions', true)).toMatch(
      /'lists' applies to users and items only/,
    );
    expect(() => parseMapping(JSON.stringify({ events: { rating: { weight: 0 } } }))).toThrow(
      /'events.rating.weight'/,
    );
    expect(() => parseMapping(JSON.stringify({ lists: { genres: ' ' } }))).toThrow(
      /'lists.genres' must not be blank/,
    );
  });
});

describe('numbers a double cannot hold', () => {
  it('keeps an attribute beyond 2^53 as text, every digit', () => {
    const validator = new RowValidator('items', ['item_id', 'ean', 'price'], DEFAULT_MAPPING, 'csv', NOW);
    const result = validator.validate(record(['i1', '123456789012345678', '9.5']));
    expect(result.ok && result.clean).toEqual({
      dataset: 'items',
      row: { id: 'i1', attributes: { ean: '123456789012345678', price: 9.5 } },
    });
  });
});
