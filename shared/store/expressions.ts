/** Builds DynamoDB update and condition expressions with every name and value placeholdered. */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { toAttribute } from './attributes.js';

export interface UpdateSpec {
  set?: Record<string, unknown>;
  remove?: string[];
  /** Numeric increments. */
  add?: Record<string, number>;
}

export class ExpressionBuilder {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, AttributeValue> = {};
  private counter = 0;

  name(attribute: string): string {
    const placeholder = `#n${Object.keys(this.names).length}`;
    for (const [existing, value] of Object.entries(this.names))
      if (value === attribute) return existing;
    this.names[placeholder] = attribute;
    return placeholder;
  }

  value(value: unknown): string {
    const placeholder = `:v${this.counter++}`;
    const attribute = toAttribute(value);
    if (!attribute) throw new TypeError('undefined cannot be an expression value');
    this.values[placeholder] = attribute;
    return placeholder;
  }

  update(spec: UpdateSpec): string {
    const clauses: string[] = [];
    const sets = Object.entries(spec.set ?? {}).filter(([, v]) => v !== undefined);
    if (sets.length)
      clauses.push(`SET ${sets.map(([k, v]) => `${this.name(k)} = ${this.value(v)}`).join(', ')}`);
    const adds = Object.entries(spec.add ?? {});
    if (adds.length)
      clauses.push(`ADD ${adds.map(([k, v]) => `${this.name(k)} ${this.value(v)}`).join(', ')}`);
    if (spec.remove?.length)
      clauses.push(`REMOVE ${spec.remove.map((k) => this.name(k)).join(', ')}`);
    return clauses.join(' ');
  }

  /** Placeholders for DynamoDB requests; omitted when empty (DynamoDB rejects empty maps). */
  attributes(): {
    ExpressionAttributeNames?: Record<string, string>;
    ExpressionAttributeValues?: Record<string, AttributeValue>;
  } {
    return {
      ...(Object.keys(this.names).length ? { ExpressionAttributeNames: this.names } : {}),
      ...(Object.keys(this.values).length ? { ExpressionAttributeValues: this.values } : {}),
    };
  }
}
