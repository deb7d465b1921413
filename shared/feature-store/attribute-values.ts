import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * JSON ⇄ DynamoDB attribute values for the plain records the feature store
 * keeps (strings, finite numbers, booleans, null, lists, maps).
 */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export function toAttributeValue(value: unknown): AttributeValue {
  if (value === null || value === undefined) return { NULL: true };
  if (typeof value === 'string') return { S: value };
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot store the non-finite number ${value} in DynamoDB`);
    return { N: String(value) };
  }
  if (typeof value === 'boolean') return { BOOL: value };
  if (Array.isArray(value)) return { L: value.map(toAttributeValue) };
  if (typeof value === 'object') return { M: toItem(value as Record<string, unknown>) };
  throw new Error(`cannot store a ${typeof value} in DynamoDB`);
}

export function toItem(record: Record<string, unknown>): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {};
  for (const [key, value] of Object.entries(record))
    if (value !== undefined) item[key] = toAttributeValue(value);
  return item;
}

export function fromAttributeValue(value: AttributeValue): Json {
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return Number(value.N);
  if (value.BOOL !== undefined) return value.BOOL;
  if (value.NULL !== undefined) return null;
  if (value.L !== undefined) return value.L.map(fromAttributeValue);
  if (value.M !== undefined) return fromItem(value.M);
  if (value.SS !== undefined) return value.SS;
  if (value.NS !== undefined) return value.NS.map(Number);
  throw new Error('unsupported DynamoDB attribute type');
}

export function fromItem(item: Record<string, AttributeValue>): { [key: string]: Json } {
  const record: { [key: string]: Json } = {};
  for (const [key, value] of Object.entries(item)) record[key] = fromAttributeValue(value);
  return record;
}
