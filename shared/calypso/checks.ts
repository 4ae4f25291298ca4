/**
 * Argument checks of the Calypso client (transport and endpoints alike): a bad value fails at
 * once, naming it, before anything is sent.
 */

export function nonEmpty(value: string, name: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new TypeError(`CalypsoClient: ${name} is required`);
  }
  return value;
}

export function positiveInt(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`CalypsoClient: ${name} must be a whole number ≥ 1`);
  }
  return value;
}

export function wholeNumber(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`CalypsoClient: ${name} must be a whole number ≥ 0`);
  }
  return value;
}

/** A path with one leading slash and no trailing one (`''` stays empty). */
export function normalisePath(path: string): string {
  const trimmed = path.trim().replace(/\/+$/, '');
  return trimmed === '' || trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
