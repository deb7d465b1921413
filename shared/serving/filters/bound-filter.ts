import type { RecentInteraction } from '../../feature-store/features';
import type { ServedAttribute } from '../../contracts/artifacts';
import type { ItemAttributes, ItemFilter } from '../item-index';
import type { Condition, FilterExpression, FilterPart, FilterValue } from './filter-expression';

/**
 * A parsed filter bound to a request's parameter values and evaluated: the item side once per catalogue (a
 * mask, cached by the caller per model version and parameters), the interaction side once per user (the
 * items of the user's recent history that match). Pure functions; serving combines the result with its
 * other exclusions into an `ItemFilter`.
 */

/** A request parameter value that does not fit its use (a number expected, say); the API answers 400. */
export class FilterParameterError extends Error {
  constructor(
    message: string,
    readonly parameter: string,
  ) {
    super(message);
    this.name = 'FilterParameterError';
  }
}

type Scalar = string | number;

/** Query values by parameter name, as the request gave them (`CATEGORIES=books,toys`). */
export type FilterParameters = Readonly<Record<string, string>>;

/** The parameter names a request must give that it did not. */
export function missingParameters(expression: FilterExpression, given: FilterParameters): string[] {
  return expression.parameters.filter((name) => given[name] === undefined);
}

/** A list parameter's values: comma-separated, trimmed, empty ones dropped. */
function listOf(raw: string): string[] {
  return raw
    .split(',')
    .map((value) => value.trim())
    .filter((value) => value !== '');
}

function resolve(value: FilterValue, parameters: FilterParameters, asList: boolean): Scalar[] {
  if (value.kind !== 'parameter') return [value.value];
  const raw = parameters[value.name];
  if (raw === undefined) {
    throw new FilterParameterError(`the filter needs parameter ${value.name}`, value.name);
  }
  return asList ? listOf(raw) : [raw.trim()];
}

function numberOf(value: Scalar): number | undefined {
  if (typeof value === 'number') return value;
  if (value.trim() === '') return undefined;
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : undefined;
}

/** Equality across the types attributes and filter values come in: "3" equals 3, "true" equals true. */
function equals(attribute: ServedAttribute, value: Scalar): boolean {
  if (attribute === null) return false;
  if (Array.isArray(attribute)) return attribute.some((element) => equals(element as string, value));
  if (typeof attribute === 'number') return numberOf(value) === attribute;
  if (typeof attribute === 'boolean') return String(value).toLowerCase() === String(attribute);
  if (typeof value === 'number') return numberOf(attribute as string) === value;
  return attribute === value;
}

/** A leaf of the condition tree, as a test of one attribute value (undefined = the field is absent). */
type Test = (value: ServedAttribute | undefined) => boolean;

function leafTest(condition: Extract<Condition, { field: string }>, parameters: FilterParameters): Test {
  if (condition.kind === 'in') {
    const values = condition.values.flatMap((value) => resolve(value, parameters, true));
    const matches: Test = (attribute) =>
      attribute !== undefined && values.some((value) => equals(attribute, value));
    return condition.negated ? (attribute) => !matches(attribute) : matches;
  }
  const [value] = resolve(condition.value, parameters, false) as [Scalar];
  if (condition.operator === '=' || condition.operator === '!=') {
    const matches: Test = (attribute) => attribute !== undefined && equals(attribute, value);
    return condition.operator === '=' ? matches : (attribute) => !matches(attribute);
  }
  const bound = numberOf(value);
  if (bound === undefined) {
    const name = condition.value.kind === 'parameter' ? condition.value.name : String(value);
    throw new FilterParameterError(
      `${condition.operator} compares numbers: ${condition.value.kind === 'parameter' ? `parameter ${name}` : name} must be a number, got '${value}'`,
      name,
    );
  }
  const compare: Record<string, (a: number) => boolean> = {
    '<': (a) => a < bound,
    '<=': (a) => a <= bound,
    '>': (a) => a > bound,
    '>=': (a) => a >= bound,
  };
  const holds = compare[condition.operator] as (a: number) => boolean;
  return (attribute) => {
    if (typeof attribute !== 'number' && typeof attribute !== 'string') return false;
    const number = numberOf(attribute);
    return number !== undefined && holds(number);
  };
}

/** The condition as a predicate over records, reading fields through `read`. */
function compile<R>(
  condition: Condition,
  parameters: FilterParameters,
  read: (record: R, field: string) => ServedAttribute | undefined,
): (record: R) => boolean {
  if (condition.kind === 'and' || condition.kind === 'or') {
    const operands = condition.operands.map((operand) => compile(operand, parameters, read));
    return condition.kind === 'and'
      ? (record) => operands.every((operand) => operand(record))
      : (record) => operands.some((operand) => operand(record));
  }
  const test = leafTest(condition, parameters);
  const field = condition.field;
  return (record) => test(read(record, field));
}

/** An item's value of a filter field: its stored attribute, else the served category and price. */
export function itemField(item: ItemAttributes, field: string): ServedAttribute | undefined {
  const stored = item.attributes;
  if (stored) {
    // Own keys only: a field named like an Object.prototype member (constructor, __proto__) is absent.
    if (Object.hasOwn(stored, field)) return stored[field];
    const lower = field.toLowerCase();
    if (Object.hasOwn(stored, lower)) return stored[lower];
  }
  const name = field.toLowerCase();
  if (name === 'category') return item.category ?? undefined;
  if (name === 'price') return item.price ?? undefined;
  return undefined;
}

function interactionField(interaction: RecentInteraction, field: string): ServedAttribute | undefined {
  if (field === 'event_type') return interaction.event_type;
  if (field === 'event_value') return interaction.event_value;
  return undefined;
}

/** Whether the filter reads the user's interactions (then it needs a user). */
export function readsInteractions(expression: FilterExpression): boolean {
  return expression.parts.some((part) => part.dataset === 'Interactions');
}

/**
 * The item side of the filter: 1 for each catalogue item every Items part lets through (INCLUDE parts
 * match, EXCLUDE parts do not), or undefined when the filter has no Items part.
 */
export function itemMask(
  expression: FilterExpression,
  parameters: FilterParameters,
  items: readonly ItemAttributes[],
): Uint8Array | undefined {
  const parts = expression.parts.filter((part) => part.dataset === 'Items');
  if (parts.length === 0) return undefined;
  const predicates = parts.map((part) => ({
    include: part.action === 'INCLUDE',
    matches: compile<ItemAttributes>(part.condition, parameters, itemField),
  }));
  const mask = new Uint8Array(items.length);
  for (let index = 0; index < items.length; index++) {
    const item = items[index] as ItemAttributes;
    mask[index] = predicates.every(({ include, matches }) => matches(item) === include) ? 1 : 0;
  }
  return mask;
}

/** The interaction side for one user: items only these may be (INCLUDE parts) and items never to return. */
export interface InteractionSide {
  readonly only?: ReadonlySet<number>;
  readonly exclude: ReadonlySet<number>;
}

export function interactionSide(
  expression: FilterExpression,
  parameters: FilterParameters,
  recent: readonly RecentInteraction[],
  indexOf: (itemId: string) => number | undefined,
): InteractionSide {
  let only: Set<number> | undefined;
  const exclude = new Set<number>();
  for (const part of expression.parts.filter((candidate) => candidate.dataset === 'Interactions')) {
    const matched = matchingItems(part, parameters, recent, indexOf);
    if (part.action === 'EXCLUDE') for (const index of matched) exclude.add(index);
    else only = only ? new Set([...only].filter((index) => matched.has(index))) : matched;
  }
  return { ...(only ? { only } : {}), exclude };
}

function matchingItems(
  part: FilterPart,
  parameters: FilterParameters,
  recent: readonly RecentInteraction[],
  indexOf: (itemId: string) => number | undefined,
): Set<number> {
  const matches = compile<RecentInteraction>(part.condition, parameters, interactionField);
  const items = new Set<number>();
  for (const interaction of recent) {
    if (!matches(interaction)) continue;
    const index = indexOf(interaction.item_id);
    if (index !== undefined) items.add(index);
  }
  return items;
}

/** Validates the parameters against every leaf (numbers where compared), without evaluating items. */
export function checkParameters(expression: FilterExpression, parameters: FilterParameters): void {
  for (const part of expression.parts) compile(part.condition, parameters, () => undefined);
}

/** The filter's sides merged into serving's item filter (with the request's own exclusions). */
export function withFilter(
  base: ItemFilter,
  mask: Uint8Array | undefined,
  side: InteractionSide | undefined,
): ItemFilter {
  const exclude = new Set(base.exclude ?? []);
  for (const index of side?.exclude ?? []) exclude.add(index);
  const allowed = mask && base.allowed ? and(mask, base.allowed) : (mask ?? base.allowed);
  const only = side?.only && base.only ? intersect(side.only, base.only) : (side?.only ?? base.only);
  return {
    ...base,
    ...(exclude.size > 0 ? { exclude } : {}),
    ...(allowed ? { allowed } : {}),
    ...(only ? { only } : {}),
  };
}

function and(a: Uint8Array, b: Uint8Array): Uint8Array {
  const result = new Uint8Array(a.length);
  for (let index = 0; index < a.length; index++) result[index] = (a[index] as number) & (b[index] as number);
  return result;
}

function intersect(a: ReadonlySet<number>, b: ReadonlySet<number>): Set<number> {
  return new Set([...a].filter((index) => b.has(index)));
}
