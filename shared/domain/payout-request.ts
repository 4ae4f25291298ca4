/**
 * Validation of a caller's payout request. Reports every failing field with its JSON path, so a
 * caller can fix everything in one go. Pure: no I/O.
 */
import * as z from 'zod/mini';
import { checkAddress } from './addresses.js';
import { COMMENT_MAX, EXTERNAL_ID_MAX, NAME_MAX, parseDateTime } from './request-fields.js';
import type { CurrencyRegistry, Currency } from './currencies.js';
import { checkAmount, jsonTypeOf, type Decimal } from './money.js';

const DAY_MS = 86_400_000;

export interface FieldError {
  /** JSONPath of the field, e.g. `$.recipients[3].amount`. */
  path: string;
  message: string;
}

export interface PayoutRequest {
  currency: Currency;
  name: string;
  comment?: string;
  /** ISO-8601 UTC. */
  executionDate?: string;
  recipients: { address: string; amount: Decimal; externalId?: string }[];
}

export interface RequestLimits {
  currencies: CurrencyRegistry;
  maxRecipients: number;
  now: Date;
  /** How many days ahead an executionDate may be. */
  executionDateHorizonDays: number;
  testnet?: boolean;
}

const recipientShape = z.strictObject({
  address: z.string(),
  amount: z.unknown(),
  externalId: z.optional(z.string().check(z.minLength(1), z.maxLength(EXTERNAL_ID_MAX))),
});

const requestShape = z.strictObject({
  currency: z.string(),
  name: z.string().check(z.trim(), z.minLength(1), z.maxLength(NAME_MAX)),
  comment: z.optional(z.string().check(z.maxLength(COMMENT_MAX))),
  executionDate: z.optional(z.string()),
  recipients: z.array(z.unknown()),
});

export function jsonPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (out, part) =>
      typeof part === 'number'
        ? `${out}[${part}]`
        : /^[A-Za-z_][A-Za-z0-9_]*$/.test(String(part))
          ? `${out}.${String(part)}`
          : `${out}[${JSON.stringify(String(part))}]`,
    '$',
  );
}

/** The value at `path` inside `input`, and whether it is there at all (a key set to undefined is not). */
function lookUp(input: unknown, path: readonly PropertyKey[]): { found: boolean; value: unknown } {
  let value = input;
  for (const key of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) {
      return { found: false, value: undefined };
    }
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return { found: value !== undefined, value };
}

/** Field errors of a failed parse of `input`, whose path inside the request is `prefix`. */
function zodErrors(
  error: z.core.$ZodError,
  input: unknown,
  prefix: PropertyKey[] = [],
): FieldError[] {
  return error.issues.flatMap((issue) => {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        path: jsonPath([...path, key]),
        message: 'is not a known field',
      }));
    }
    if (issue.code === 'invalid_type') {
      // Zod does not report the input it refused: look it up to tell absent from mistyped.
      const given = lookUp(input, issue.path);
      if (!given.found) return [{ path: jsonPath(path), message: 'is required' }];
      return [
        {
          path: jsonPath(path),
          message: `must be ${article(issue.expected)}, got ${jsonTypeOf(given.value)}`,
        },
      ];
    }
    if (issue.code === 'too_small' && issue.origin === 'string') {
      return [{ path: jsonPath(path), message: 'must not be empty' }];
    }
    if (issue.code === 'too_big' && issue.origin === 'string') {
      return [
        { path: jsonPath(path), message: `must be at most ${String(issue.maximum)} characters` },
      ];
    }
    return [{ path: jsonPath(path), message: issue.message }];
  });
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/**
 * The first character of `text` that must not be in a name, comment or externalId, described for
 * the caller: control characters (C0, DEL and C1: they break logs, CSV files and terminals),
 * bidirectional overrides and isolates (they make text display differently from what it is) and
 * lone surrogates (not text at all; they cannot be encoded as UTF-8).
 */
function unsafeCharacter(text: string): string | undefined {
  let position = 0;
  for (const char of text) {
    position += 1;
    const code = char.codePointAt(0)!;
    const kind =
      code <= 0x1f || (code >= 0x7f && code <= 0x9f)
        ? 'a control character'
        : (code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069)
          ? 'a bidirectional override or isolate'
          : code >= 0xd800 && code <= 0xdfff
            ? 'a lone surrogate'
            : undefined;
    if (kind) {
      const hex = code.toString(16).toUpperCase().padStart(4, '0');
      return `must not contain ${kind} (U+${hex} at character ${position})`;
    }
  }
  return undefined;
}

/** The unsafe-character problem of a text field, if it is a string holding one. */
function textError(path: readonly PropertyKey[], value: unknown): FieldError[] {
  const problem = typeof value === 'string' ? unsafeCharacter(value) : undefined;
  return problem ? [{ path: jsonPath(path), message: problem }] : [];
}

/** The free-text fields of the request itself. */
function requestTextErrors(body: object): FieldError[] {
  const fields = body as { name?: unknown; comment?: unknown };
  return [...textError(['name'], fields.name), ...textError(['comment'], fields.comment)];
}

export function validatePayoutRequest(
  body: unknown,
  limits: RequestLimits,
): { ok: true; value: PayoutRequest } | { ok: false; errors: FieldError[] } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, errors: [{ path: '$', message: 'must be a JSON object' }] };
  }
  const top = requestShape.safeParse(body);
  if (!top.success) {
    // Report the top-level problems, and recipients' problems too when the list itself is usable.
    const errors = [...zodErrors(top.error, body), ...requestTextErrors(body)];
    const recipients = (body as { recipients?: unknown }).recipients;
    if (Array.isArray(recipients) && recipients.length <= limits.maxRecipients) {
      const currency =
        typeof (body as { currency?: unknown }).currency === 'string'
          ? limits.currencies.get((body as { currency: string }).currency)
          : undefined;
      errors.push(...checkRecipients(recipients, currency, limits).errors);
    }
    return { ok: false, errors: dedupe(errors) };
  }
  const input = top.data;
  const errors: FieldError[] = requestTextErrors(body);

  const currency = limits.currencies.get(input.currency);
  if (!currency) {
    errors.push({
      path: '$.currency',
      message: `is not a supported currency; use one of ${limits.currencies.codes().join(', ')}`,
    });
  }

  let executionDate: string | undefined;
  if (input.executionDate !== undefined) {
    const parsed = parseDateTime(input.executionDate);
    const horizon = limits.now.getTime() + limits.executionDateHorizonDays * DAY_MS;
    if (!parsed) {
      errors.push({
        path: '$.executionDate',
        message: 'must be a real ISO-8601 date-time with a time zone, e.g. 2030-01-31T12:00:00Z',
      });
    } else if (parsed.getTime() <= limits.now.getTime()) {
      errors.push({ path: '$.executionDate', message: 'is in the past' });
    } else if (parsed.getTime() > horizon) {
      errors.push({
        path: '$.executionDate',
        message: `is more than ${limits.executionDateHorizonDays} days ahead (after ${new Date(horizon).toISOString()})`,
      });
    } else {
      executionDate = parsed.toISOString();
    }
  }

  const checked = checkRecipients(input.recipients, currency, limits);
  errors.push(...checked.errors);
  if (errors.length > 0 || !currency) return { ok: false, errors };
  return {
    ok: true,
    value: {
      currency,
      name: input.name,
      ...(input.comment !== undefined ? { comment: input.comment } : {}),
      ...(executionDate ? { executionDate } : {}),
      recipients: checked.recipients,
    },
  };
}

function checkRecipients(
  recipients: unknown[],
  currency: Currency | undefined,
  limits: RequestLimits,
): { errors: FieldError[]; recipients: PayoutRequest['recipients'] } {
  const errors: FieldError[] = [];
  if (recipients.length === 0) {
    return {
      errors: [{ path: '$.recipients', message: 'must list at least one recipient' }],
      recipients: [],
    };
  }
  if (recipients.length > limits.maxRecipients) {
    return {
      errors: [
        {
          path: '$.recipients',
          message: `has ${recipients.length} recipients; at most ${limits.maxRecipients} are allowed in one payout`,
        },
      ],
      recipients: [],
    };
  }
  const out: PayoutRequest['recipients'] = [];
  const seenExternalIds = new Map<string, number>();
  recipients.forEach((raw, i) => {
    const shaped = recipientShape.safeParse(raw);
    if (!shaped.success) {
      errors.push(...zodErrors(shaped.error, raw, ['recipients', i]));
      // Still check the amount and address when present, to report everything at once.
    }
    const r = (shaped.success ? shaped.data : raw) as Record<string, unknown> | null;
    if (typeof r !== 'object' || r === null) return;
    const amount =
      'amount' in r
        ? currency
          ? checkAmount(r.amount, currency.decimals, {
              value: currency.maxAmount,
              currency: currency.code,
            })
          : checkAmount(r.amount, Number.MAX_SAFE_INTEGER)
        : undefined;
    if (amount && !amount.ok)
      errors.push({ path: jsonPath(['recipients', i, 'amount']), message: amount.message });
    if (currency && typeof r.address === 'string') {
      const address = checkAddress(currency.network, r.address, {
        testnet: limits.testnet ?? false,
      });
      if (!address.ok)
        errors.push({ path: jsonPath(['recipients', i, 'address']), message: address.message });
    }
    errors.push(...textError(['recipients', i, 'externalId'], r.externalId));
    if (typeof r.externalId === 'string') {
      const first = seenExternalIds.get(r.externalId);
      if (first !== undefined) {
        errors.push({
          path: jsonPath(['recipients', i, 'externalId']),
          message: `duplicates the externalId of $.recipients[${first}]`,
        });
      } else {
        seenExternalIds.set(r.externalId, i);
      }
    }
    if (shaped.success && amount?.ok) {
      out.push({
        address: shaped.data.address,
        amount: amount.value,
        ...(shaped.data.externalId !== undefined ? { externalId: shaped.data.externalId } : {}),
      });
    }
  });
  return { errors, recipients: out };
}

function dedupe(errors: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.path}\u0000${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** A stable text of the validated request: equal requests give equal text (hashed for idempotency). */
export function canonicalRequest(request: PayoutRequest): string {
  return JSON.stringify({
    currency: request.currency.code,
    name: request.name,
    comment: request.comment ?? null,
    executionDate: request.executionDate ?? null,
    recipients: request.recipients.map((r) => [
      r.address,
      r.amount.normalize().toString(),
      r.externalId ?? null,
    ]),
  });
}
