/**
 * An attribute's values as text: a list attribute (the mapping's `lists`, e.g. genres "Adventure|Comedy")
 * gives each value, a scalar one value, an absent or null attribute none. Filters match any value,
 * the item tower embeds each, and segment profiles count each.
 */
export function attributeValues(value: unknown): string[] {
  if (value === undefined || value === null || value === '') return [];
  if (Array.isArray(value)) return value.filter((entry) => entry !== null && entry !== '').map(String);
  return [String(value)];
}
