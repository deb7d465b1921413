/**
 * The filter expression language (Amazon Personalize's, in the subset Mappa serves):
 *
 *   EXCLUDE ItemID WHERE Interactions.event_type IN ("purchase")
 *   INCLUDE ItemID WHERE Items.category IN ($CATEGORIES) AND Items.price <= $MAX_PRICE
 *   EXCLUDE ItemID WHERE Items.stock = 0 | INCLUDE ItemID WHERE Items.brand = "acme"
 *
 * Grammar (keywords case-insensitive; parts joined by `|` must all hold):
 *
 *   filter     := part ('|' part)*
 *   part       := ('INCLUDE' | 'EXCLUDE') 'ItemID' 'WHERE' or
 *   or         := and ('OR' and)*
 *   and        := primary ('AND' primary)*
 *   primary    := '(' or ')' | field ('IN' | 'NOT' 'IN') list | field op value
 *   field      := ('Items' | 'Interactions') '.' name
 *   list       := '(' value (',' value)* ')' | $PARAM
 *   value      := "string" | number | $PARAM
 *   op         := '=' | '!=' | '<' | '<=' | '>' | '>='
 *
 * One part reads one dataset: conditions on Items and on Interactions are separate parts (as in Personalize),
 * so the item side of a filter can be evaluated once per catalogue and the interaction side once per user.
 * Parsing is pure; errors carry the 0-based position they point at.
 */

export type Dataset = 'Items' | 'Interactions';
export type ComparisonOperator = '=' | '!=' | '<' | '<=' | '>' | '>=';

export type FilterValue =
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'parameter'; readonly name: string; readonly position: number };

export type Condition =
  | { readonly kind: 'and'; readonly operands: readonly Condition[] }
  | { readonly kind: 'or'; readonly operands: readonly Condition[] }
  | {
      readonly kind: 'in';
      readonly field: string;
      readonly negated: boolean;
      readonly values: readonly FilterValue[];
      readonly position: number;
    }
  | {
      readonly kind: 'compare';
      readonly field: string;
      readonly operator: ComparisonOperator;
      readonly value: FilterValue;
      readonly position: number;
    };

export interface FilterPart {
  readonly action: 'INCLUDE' | 'EXCLUDE';
  readonly dataset: Dataset;
  readonly condition: Condition;
}

export interface FilterExpression {
  readonly parts: readonly FilterPart[];
  /** Every `$PARAM` the expression uses, in order of first use. */
  readonly parameters: readonly string[];
}

/** Personalize's limit on a filter expression's length. */
export const MAX_EXPRESSION_LENGTH = 2_500;

/** Interaction fields a filter may test: what the feature store's recent history keeps per event. */
export const INTERACTION_FIELDS = { event_type: 'string', event_value: 'number' } as const;

export class FilterSyntaxError extends Error {
  constructor(
    message: string,
    /** 0-based offset into the expression. */
    readonly position: number,
  ) {
    super(`${message} (at position ${position})`);
    this.name = 'FilterSyntaxError';
  }
}

type TokenKind = 'word' | 'string' | 'number' | 'parameter' | 'symbol' | 'end';

interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly position: number;
}

const SYMBOLS = ['<=', '>=', '!=', '=', '<', '>', '(', ')', ',', '.', '|'];

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < source.length) {
    const char = source[at] as string;
    if (/\s/.test(char)) {
      at++;
      continue;
    }
    const start = at;
    if (char === '"') {
      let text = '';
      at++;
      for (;;) {
        if (at >= source.length) throw new FilterSyntaxError('unterminated string', start);
        const next = source[at] as string;
        if (next === '\\' && at + 1 < source.length) {
          text += source[at + 1];
          at += 2;
        } else if (next === '"') {
          at++;
          break;
        } else {
          text += next;
          at++;
        }
      }
      tokens.push({ kind: 'string', text, position: start });
      continue;
    }
    const number = /^-?\d+(\.\d+)?([eE][-+]?\d+)?/.exec(source.slice(at));
    if (number && (char !== '-' || /\d/.test(source[at + 1] ?? ''))) {
      tokens.push({ kind: 'number', text: number[0], position: start });
      at += number[0].length;
      continue;
    }
    if (char === '$') {
      const name = /^\$([A-Za-z_][A-Za-z0-9_]*)/.exec(source.slice(at));
      if (!name) throw new FilterSyntaxError("expected a parameter name after '$'", start);
      tokens.push({ kind: 'parameter', text: name[1] as string, position: start });
      at += name[0].length;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(source.slice(at));
    if (word) {
      tokens.push({ kind: 'word', text: word[0], position: start });
      at += word[0].length;
      continue;
    }
    const symbol = SYMBOLS.find((candidate) => source.startsWith(candidate, at));
    if (!symbol) throw new FilterSyntaxError(`unexpected character '${char}'`, start);
    tokens.push({ kind: 'symbol', text: symbol, position: start });
    at += symbol.length;
  }
  tokens.push({ kind: 'end', text: '', position: source.length });
  return tokens;
}

function describe(token: Token): string {
  if (token.kind === 'end') return 'the end of the expression';
  if (token.kind === 'string') return `"${token.text}"`;
  if (token.kind === 'parameter') return `$${token.text}`;
  return `'${token.text}'`;
}

class Parser {
  private at = 0;
  readonly parameters: string[] = [];

  constructor(private readonly tokens: readonly Token[]) {}

  private peek(): Token {
    return this.tokens[this.at] as Token;
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind !== 'end') this.at++;
    return token;
  }

  private isKeyword(word: string): boolean {
    const token = this.peek();
    return token.kind === 'word' && token.text.toUpperCase() === word;
  }

  private isSymbol(symbol: string): boolean {
    const token = this.peek();
    return token.kind === 'symbol' && token.text === symbol;
  }

  private expectKeyword(word: string): Token {
    if (!this.isKeyword(word)) this.fail(`expected ${word}`);
    return this.next();
  }

  private expectSymbol(symbol: string): Token {
    if (!this.isSymbol(symbol)) this.fail(`expected '${symbol}'`);
    return this.next();
  }

  fail(expected: string, token: Token = this.peek()): never {
    throw new FilterSyntaxError(`${expected}, found ${describe(token)}`, token.position);
  }

  filter(): FilterExpression {
    const parts = [this.part()];
    while (this.isSymbol('|')) {
      this.next();
      parts.push(this.part());
    }
    if (this.peek().kind !== 'end') this.fail("expected AND, OR, '|' or the end of the expression");
    return { parts, parameters: this.parameters };
  }

  private part(): FilterPart {
    if (!this.isKeyword('INCLUDE') && !this.isKeyword('EXCLUDE')) this.fail('expected INCLUDE or EXCLUDE');
    const action = this.next().text.toUpperCase() as FilterPart['action'];
    this.expectKeyword('ITEMID');
    this.expectKeyword('WHERE');
    const datasets = new Set<Dataset>();
    const condition = this.or(datasets);
    if (datasets.size > 1) {
      throw new FilterSyntaxError(
        "a part reads either Items or Interactions: join conditions on both with '|' instead of AND/OR",
        this.partStart(),
      );
    }
    return { action, dataset: [...datasets][0] as Dataset, condition };
  }

  private partStart(): number {
    // The token after the last '|' (or the first token): where the offending part begins.
    for (let index = this.at - 1; index >= 0; index--) {
      const token = this.tokens[index] as Token;
      if (token.kind === 'symbol' && token.text === '|') return (this.tokens[index + 1] as Token).position;
    }
    return (this.tokens[0] as Token).position;
  }

  private or(datasets: Set<Dataset>): Condition {
    const operands = [this.and(datasets)];
    while (this.isKeyword('OR')) {
      this.next();
      operands.push(this.and(datasets));
    }
    return operands.length === 1 ? (operands[0] as Condition) : { kind: 'or', operands };
  }

  private and(datasets: Set<Dataset>): Condition {
    const operands = [this.primary(datasets)];
    while (this.isKeyword('AND')) {
      this.next();
      operands.push(this.primary(datasets));
    }
    return operands.length === 1 ? (operands[0] as Condition) : { kind: 'and', operands };
  }

  private primary(datasets: Set<Dataset>): Condition {
    if (this.isSymbol('(')) {
      this.next();
      const inner = this.or(datasets);
      this.expectSymbol(')');
      return inner;
    }
    const { dataset, field, position } = this.field();
    datasets.add(dataset);
    if (this.isKeyword('IN') || this.isKeyword('NOT')) {
      const negated = this.isKeyword('NOT');
      if (negated) {
        this.next();
        this.expectKeyword('IN');
      } else this.next();
      return { kind: 'in', field, negated, values: this.list(), position };
    }
    const operator = this.peek();
    if (operator.kind !== 'symbol' || !['=', '!=', '<', '<=', '>', '>='].includes(operator.text)) {
      this.fail('expected IN, NOT IN or a comparison (=, !=, <, <=, >, >=)');
    }
    this.next();
    const op = operator.text as ComparisonOperator;
    const value = this.value();
    if (dataset === 'Interactions' && field === 'event_type' && op !== '=' && op !== '!=') {
      throw new FilterSyntaxError(
        `Interactions.event_type is text: use =, != or IN, not ${op}`,
        operator.position,
      );
    }
    return { kind: 'compare', field, operator: op, value, position };
  }

  private field(): { dataset: Dataset; field: string; position: number } {
    const token = this.peek();
    if (!this.isKeyword('ITEMS') && !this.isKeyword('INTERACTIONS')) {
      this.fail('expected a field such as Items.category or Interactions.event_type');
    }
    this.next();
    const dataset: Dataset = token.text.toUpperCase() === 'ITEMS' ? 'Items' : 'Interactions';
    this.expectSymbol('.');
    const name = this.peek();
    if (name.kind !== 'word') this.fail(`expected a field name after ${dataset}.`);
    this.next();
    const field = name.text.toLowerCase();
    if (dataset === 'Interactions' && !(field in INTERACTION_FIELDS)) {
      throw new FilterSyntaxError(
        `Interactions has no field '${name.text}' a filter can test (${Object.keys(INTERACTION_FIELDS).join(', ')})`,
        name.position,
      );
    }
    return { dataset, field: dataset === 'Items' ? name.text : field, position: token.position };
  }

  private list(): FilterValue[] {
    if (this.peek().kind === 'parameter') return [this.value()];
    this.expectSymbol('(');
    const values = [this.value()];
    while (this.isSymbol(',')) {
      this.next();
      values.push(this.value());
    }
    this.expectSymbol(')');
    return values;
  }

  private value(): FilterValue {
    const token = this.peek();
    if (token.kind === 'string') {
      this.next();
      return { kind: 'string', value: token.text };
    }
    if (token.kind === 'number') {
      this.next();
      return { kind: 'number', value: Number(token.text) };
    }
    if (token.kind === 'parameter') {
      this.next();
      if (!/^[A-Z][A-Z0-9_]*$/.test(token.text)) {
        throw new FilterSyntaxError(
          `parameter $${token.text} must be upper case (A-Z, 0-9, _), as request query values name it`,
          token.position,
        );
      }
      if (!this.parameters.includes(token.text)) this.parameters.push(token.text);
      return { kind: 'parameter', name: token.text, position: token.position };
    }
    return this.fail('expected a "string", a number or a $PARAMETER');
  }
}

/** Parses and validates a filter expression; throws FilterSyntaxError pointing at the problem. */
export function parseFilterExpression(source: string): FilterExpression {
  if (source.length > MAX_EXPRESSION_LENGTH) {
    throw new FilterSyntaxError(`is longer than ${MAX_EXPRESSION_LENGTH} characters`, MAX_EXPRESSION_LENGTH);
  }
  if (source.trim() === '') throw new FilterSyntaxError('is empty', 0);
  return new Parser(tokenize(source)).filter();
}
