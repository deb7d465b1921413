import {
  FilterSyntaxError,
  MAX_EXPRESSION_LENGTH,
  parseFilterExpression,
} from '../../../../shared/serving/filters/filter-expression';

function syntaxError(source: string): FilterSyntaxError {
  try {
    parseFilterExpression(source);
  } catch (error) {
    if (error instanceof FilterSyntaxError) return error;
    throw error;
  }
  throw new Error(`'${source}' parsed`);
}

describe('filter expressions', () => {
  it('parses the three forms the docs show, with their parameters', () => {
    expect(parseFilterExpression('EXCLUDE ItemID WHERE Interactions.event_type IN ("purchase")')).toEqual({
      parts: [
        {
          action: 'EXCLUDE',
          dataset: 'Interactions',
          condition: {
            kind: 'in',
            field: 'event_type',
            negated: false,
            values: [{ kind: 'string', value: 'purchase' }],
            position: 21,
          },
        },
      ],
      parameters: [],
    });
    const shop = parseFilterExpression(
      'INCLUDE ItemID WHERE Items.category IN ($CATEGORIES) AND Items.price <= $MAX_PRICE',
    );
    expect(shop.parameters).toEqual(['CATEGORIES', 'MAX_PRICE']);
    expect(shop.parts[0]?.condition).toMatchObject({
      kind: 'and',
      operands: [
        { kind: 'in', field: 'category', values: [{ kind: 'parameter', name: 'CATEGORIES' }] },
        { kind: 'compare', field: 'price', operator: '<=', value: { kind: 'parameter', name: 'MAX_PRICE' } },
      ],
    });
    expect(parseFilterExpression('EXCLUDE ItemID WHERE Items.stock = 0').parts[0]?.condition).toMatchObject({
      kind: 'compare',
      field: 'stock',
      operator: '=',
      value: { kind: 'number', value: 0 },
    });
  });

  it('binds AND tighter than OR, honours parentheses, joins parts with |, and ignores keyword case', () => {
    const parsed = parseFilterExpression(
      'include itemid where Items.a = 1 or Items.b = 2 and (Items.c = 3 OR Items.d NOT IN ("x", "y")) | exclude ItemID where Interactions.event_value < -1.5',
    );
    expect(parsed.parts.map((part) => [part.action, part.dataset])).toEqual([
      ['INCLUDE', 'Items'],
      ['EXCLUDE', 'Interactions'],
    ]);
    expect(parsed.parts[0]?.condition).toMatchObject({
      kind: 'or',
      operands: [
        { kind: 'compare', field: 'a' },
        {
          kind: 'and',
          operands: [
            { kind: 'compare', field: 'b' },
            {
              kind: 'or',
              operands: [{ field: 'c' }, { kind: 'in', field: 'd', negated: true }],
            },
          ],
        },
      ],
    });
    expect(parsed.parts[1]?.condition).toMatchObject({
      operator: '<',
      value: { kind: 'number', value: -1.5 },
    });
  });

  it('keeps escaped quotes inside strings', () => {
    const parsed = parseFilterExpression('INCLUDE ItemID WHERE Items.title = "the \\"best\\" one"');
    expect(parsed.parts[0]?.condition).toMatchObject({ value: { kind: 'string', value: 'the "best" one' } });
  });

  it.each([
    ['', 0, /is empty/],
    ['REMOVE ItemID WHERE Items.a = 1', 0, /expected INCLUDE or EXCLUDE, found 'REMOVE'/],
    ['EXCLUDE UserID WHERE Items.a = 1', 8, /expected ITEMID, found 'UserID'/],
    ['EXCLUDE ItemID Items.a = 1', 15, /expected WHERE/],
    ['EXCLUDE ItemID WHERE Users.age > 3', 21, /expected a field such as Items.category/],
    [
      'EXCLUDE ItemID WHERE Items.price =',
      34,
      /expected a "string", a number or a \$PARAMETER, found the end/,
    ],
    ['EXCLUDE ItemID WHERE Items.price ~ 3', 33, /unexpected character '~'/],
    ['EXCLUDE ItemID WHERE Items.category IN ("a", "b"', 48, /expected '\)'/],
    ['EXCLUDE ItemID WHERE Items.category IN ("a) ', 40, /unterminated string/],
    ['EXCLUDE ItemID WHERE Items.price < 3 Items.a = 1', 37, /expected AND, OR, '\|' or the end/],
    ['EXCLUDE ItemID WHERE Interactions.item_id = "x"', 34, /Interactions has no field 'item_id'/],
    ['EXCLUDE ItemID WHERE Interactions.event_type > "x"', 45, /event_type is text/],
    ['EXCLUDE ItemID WHERE Items.price < $max', 35, /parameter \$max must be upper case/],
    [
      'EXCLUDE ItemID WHERE Items.price < 3 | INCLUDE ItemID WHERE Items.a = 1 AND Interactions.event_type = "view"',
      39,
      /either Items or Interactions/,
    ],
  ])('rejects %j at position %i', (source, position, message) => {
    const error = syntaxError(source);
    expect(error.position).toBe(position);
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(new RegExp(`at position ${position}\\)$`));
  });

  it('refuses expressions longer than Personalize allows', () => {
    const long = `EXCLUDE ItemID WHERE Items.brand IN (${Array.from({ length: 400 }, (_, i) => `"b${i}"`).join(', ')})`;
    expect(long.length).toBeGreaterThan(MAX_EXPRESSION_LENGTH);
    expect(syntaxError(long).message).toMatch(/longer than 2500/);
  });
});
