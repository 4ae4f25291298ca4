/**
 * Strict reading of request bodies. The sandbox refuses what the documentation does not allow,
 * unknown fields included, so that a mistake in our requests shows up here rather than in
 * production. Shape problems are `001`.
 */
import { UUID_PATTERN } from '../../../shared/domain/ids.js';
import { badRequest } from './errors.js';
import { isJsonObject, JsonNumber, type JsonObject } from './json.js';

const INTEGER = /^-?(0|[1-9][0-9]*)$/;

export class Fields {
  private constructor(
    private readonly object: JsonObject,
    private readonly path: string,
  ) {}

  /** `value` must be a JSON object; `path` names it in error messages. */
  static of(value: unknown, path: string): Fields {
    if (!isJsonObject(value)) throw badRequest(`${path} must be a JSON object`);
    return new Fields(value, path);
  }

  /** Refuses any field not listed. */
  only(...names: string[]): this {
    for (const key of Object.keys(this.object)) {
      if (!names.includes(key)) throw badRequest(`${this.at(key)} is not a known field`);
    }
    return this;
  }

  has(name: string): boolean {
    return this.value(name) !== undefined;
  }

  /** A string; absent and null both read as undefined. */
  optionalString(name: string, maxLength = 1000): string | undefined {
    const value = this.value(name);
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw badRequest(`${this.at(name)} must be a string`);
    if (value.length > maxLength) {
      throw badRequest(`${this.at(name)} is longer than ${maxLength} characters`);
    }
    return value;
  }

  requiredString(name: string, maxLength = 1000): string {
    const value = this.optionalString(name, maxLength);
    if (value === undefined || value === '') throw badRequest(`${this.at(name)} is required`);
    return value;
  }

  requiredUuid(name: string): string {
    const value = this.requiredString(name, 36);
    if (!UUID_PATTERN.test(value.toLowerCase()))
      throw badRequest(`${this.at(name)} must be a UUID`);
    return value;
  }

  /** A JSON number, kept as its text. Strings are refused: amounts are numbers. */
  optionalNumber(name: string): JsonNumber | undefined {
    const value = this.value(name);
    if (value === undefined) return undefined;
    if (!(value instanceof JsonNumber)) throw badRequest(`${this.at(name)} must be a JSON number`);
    return value;
  }

  requiredNumber(name: string): JsonNumber {
    const value = this.optionalNumber(name);
    if (value === undefined) throw badRequest(`${this.at(name)} is required`);
    return value;
  }

  optionalInteger(name: string, min: number, max: number): number | undefined {
    const value = this.optionalNumber(name);
    if (value === undefined) return undefined;
    const n = INTEGER.test(value.text) ? Number(value.text) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw badRequest(`${this.at(name)} must be an integer from ${min} to ${max}`);
    }
    return n;
  }

  /** A string, or an integer number read as its digits (ids are numeric strings). */
  optionalId(name: string): string | undefined {
    const value = this.value(name);
    if (value instanceof JsonNumber && INTEGER.test(value.text)) return value.text;
    return this.optionalString(name, 100);
  }

  requiredArray(name: string): unknown[] {
    const value = this.value(name);
    if (value === undefined) throw badRequest(`${this.at(name)} is required`);
    if (!Array.isArray(value)) throw badRequest(`${this.at(name)} must be an array`);
    return value;
  }

  optionalStringArray(name: string): string[] | undefined {
    const value = this.value(name);
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
      throw badRequest(`${this.at(name)} must be an array of strings`);
    }
    return value as string[];
  }

  at(name: string): string {
    return `${this.path}.${name}`;
  }

  private value(name: string): unknown {
    const value = Object.hasOwn(this.object, name) ? this.object[name] : undefined;
    return value === null ? undefined : value;
  }
}
