/**
 * Minimal DynamoDB attribute-value conversion for this project's items. Amounts are stored as
 * strings, so a number attribute only ever holds a count or a time.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';

export type Item = Record<string, AttributeValue>;

export function toAttribute(value: unknown): AttributeValue | undefined {
  if (value === undefined) return undefined;
  if (value === null) return { NULL: true };
  if (typeof value === 'string') return { S: value };
  if (typeof value === 'boolean') return { BOOL: value };
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value))
      throw new TypeError(`only safe integers are stored as numbers: ${value}`);
    return { N: String(value) };
  }
  if (Array.isArray(value)) {
    return { L: value.map((v) => toAttribute(v) ?? { NULL: true }) };
  }
  if (typeof value === 'object') return { M: toItem(value as Record<string, unknown>) };
  throw new TypeError(`cannot store a ${typeof value}`);
}

export function toItem(record: Record<string, unknown>): Item {
  const item: Item = {};
  for (const [key, value] of Object.entries(record)) {
    const attribute = toAttribute(value);
    if (attribute) item[key] = attribute;
  }
  return item;
}

export function fromAttribute(attribute: AttributeValue): unknown {
  if (attribute.S !== undefined) return attribute.S;
  if (attribute.N !== undefined) return Number(attribute.N);
  if (attribute.BOOL !== undefined) return attribute.BOOL;
  if (attribute.NULL !== undefined) return null;
  if (attribute.L !== undefined) return attribute.L.map(fromAttribute);
  if (attribute.M !== undefined) return fromItem(attribute.M);
  if (attribute.SS !== undefined) return [...attribute.SS];
  throw new TypeError(`unsupported attribute ${Object.keys(attribute).join(',')}`);
}

export function fromItem(item: Item): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(item)) record[key] = fromAttribute(value);
  return record;
}
