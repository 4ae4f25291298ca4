/**
 * Lenient schemas for Calypso's responses. Input is what `parseJsonLossless` gives: every JSON
 * number arrives as its exact source text (a string). Unknown fields are dropped, unknown state
 * values are kept verbatim, `null` counts as absent, and descriptive fields of an unexpected
 * type are dropped rather than failing the whole answer. Only what the project relies on
 * (ids, states, amounts) is required.
 */
import * as z from 'zod/mini';
import { Decimal, DECIMAL_MAX_DIGITS } from '../domain/money.js';

/** A state value: a known one, or whatever Calypso sent (kept verbatim, treated as not final). */
export type MassPayoutState =
  | 'CREATION_IN_PROGRESS'
  | 'PENDING_CONFIRMATION'
  | 'CONFIRMED'
  | 'IN_PROGRESS'
  | 'COMPLETED'
  | 'FAILED'
  | 'CANCELED'
  | 'PARTIAL'
  | (string & {});

export type WithdrawalState =
  'DRAFT' | 'IN_PROGRESS' | 'COMPLETED' | 'REPLACED' | 'FAILED' | 'CANCELED' | (string & {});

/** `EXCEEDING_LIMIT`, `NOT_ENOUGH_FUNDS`, `NOT_ENOUGH_FUNDS_FOR_COMMISSION`, … kept verbatim. */
export type WithdrawalErrorStatus =
  | 'EXCEEDING_LIMIT'
  | 'NOT_ENOUGH_FUNDS'
  | 'NOT_ENOUGH_FUNDS_FOR_COMMISSION'
  | 'NOT_ENOUGH_FUNDS_FOR_SERVICE_COMMISSION'
  | 'SUCCESS'
  | (string & {});

export interface MassPayout {
  id: string;
  idempotencyKey?: string;
  companyId?: string;
  state: MassPayoutState;
  name?: string;
  comment?: string;
  currency?: string;
  totalCalypsoFee?: Decimal;
  totalCalypsoFeePercentage?: Decimal;
  executionDate?: string;
}

export interface WithdrawalError {
  id?: string;
  status: WithdrawalErrorStatus;
  /** True when the problem went away and the payment continues: not a final failure. */
  errorResolved: boolean;
  errorMessage?: string;
}

export interface Withdrawal {
  id: string;
  state: WithdrawalState;
  amount: Decimal;
  currency?: string;
  depositAddress?: string;
  externalId?: string;
  calypsoFee?: Decimal;
  transactionHash?: string;
  account?: string;
  companyName?: string;
  createdDate?: string;
  withdrawalErrors: WithdrawalError[];
}

export interface WithdrawalPage {
  result: Withdrawal[];
  page?: number;
  size?: number;
  total?: number;
  totalElements?: number;
}

/** A single (non-mass) payout. Its answer is not documented field by field: only `id` is required. */
export interface SinglePayout {
  id: string;
  idempotencyKey?: string;
  /** The payout's state: the same states as a mass payout's. */
  state?: MassPayoutState;
  amount?: Decimal;
  currency?: string;
  depositAddress?: string;
  externalId?: string;
  comment?: string;
  calypsoFee?: Decimal;
  calypsoFeePercentage?: Decimal;
  transactionHash?: string;
  createdDate?: string;
  executionDate?: string;
  /** The id of its one payment (a withdrawal), where Calypso gives it. */
  withdrawalId?: string;
  withdrawalErrors: WithdrawalError[];
}

export interface AccountBalance {
  currency: string;
  amount: Decimal;
}

export interface Account {
  account?: string;
  name?: string;
  ownerId?: string;
  balances: AccountBalance[];
}

/** A webhook subscription. `secretKey` is a secret: store it, never log it. */
export interface WebhookSubscription {
  requestId: string;
  url?: string;
  notificationServiceTypes?: string[];
  notificationEventTypes?: string[];
  publicKey?: string;
  secretKey?: string;
}

export interface CalypsoErrorBody {
  errorCode: string;
  message?: string;
  traceId?: string;
}

const JSON_NUMBER_TEXT = /^(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?(?:[eE]([-+]?[0-9]+))?$/;
/** Room for a sign, a point and an exponent around the most digits a Decimal may have. */
const MAX_NUMBER_TEXT = DECIMAL_MAX_DIGITS + 8;

/**
 * The exact value of a JSON number's text, exponent notation included (`1E-18`, `2.5e3`): a
 * server that writes big decimals in scientific notation still gives exact amounts.
 *
 * Bounded only by `DECIMAL_MAX_DIGITS` (the work), never by what a caller may ask to pay: a fee
 * with 30 decimals or a balance of any size is read, and its text can be stored and read back
 * with `Decimal.parse`.
 */
export function decimalFromJsonNumberText(text: string): Decimal | undefined {
  if (text.length > MAX_NUMBER_TEXT) return undefined;
  const match = JSON_NUMBER_TEXT.exec(text);
  if (!match) return undefined;
  const [, sign, whole = '', fraction = '', exponentText = '0'] = match;
  // Checked on the text first: a huge exponent must not become a huge power of ten.
  if (exponentText.replace(/^[-+]?0*/, '').length > String(DECIMAL_MAX_DIGITS).length) {
    return undefined;
  }
  const exponent = Number(exponentText);
  const digits = whole.length + fraction.length;
  let scale = fraction.length - exponent;
  // The digits of the plain text: the significant ones plus the zeros the exponent adds.
  if (Math.max(digits + Math.max(0, -scale), scale + 1) > DECIMAL_MAX_DIGITS) return undefined;
  let units = BigInt(whole + fraction);
  if (scale < 0) {
    units *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return Decimal.fromUnits(sign === '-' ? -units : units, scale);
}

/** An amount or fee: the exact JSON number text (or a JSON string holding one) as a Decimal. */
export const decimalSchema = z.pipe(
  z.string(),
  z.transform((text: string, ctx): Decimal => {
    const value = decimalFromJsonNumberText(text);
    if (value === undefined) {
      ctx.issues.push({ code: 'custom', message: 'expected a decimal number', input: text });
      return z.NEVER;
    }
    return value;
  }),
);

/** An id Calypso sends as a number or a string: always a non-empty string here. */
export const idSchema = z.pipe(
  z.union([z.string().check(z.minLength(1)), z.number()]),
  z.transform((value: string | number) => String(value)),
);

/** A whole number (page index, count) sent as a JSON number. */
const countSchema = z.pipe(
  z.union([z.string().check(z.regex(/^(0|[1-9][0-9]{0,14})$/)), z.number().check(z.int())]),
  z.transform((value: string | number) => Number(value)),
);

/** Optional: absent or `null` give undefined. */
function optional<T extends z.ZodMiniType>(schema: T) {
  return z.optional(
    z.pipe(
      z.nullable(schema),
      z.transform((value: z.output<T> | null) => value ?? undefined),
    ),
  );
}

/** A descriptive field: dropped (undefined) when absent, null, or not what we expect. */
function descriptive<T extends z.ZodMiniType>(schema: T) {
  return z.catch(optional(schema), undefined);
}

const text = z.string();
const textList = z.array(z.string());

export const errorBodySchema: z.ZodMiniType<CalypsoErrorBody> = z.object({
  // A code sent as a number (`16`) is written as Calypso documents it (`"016"`).
  errorCode: z.pipe(
    idSchema,
    z.transform((code: string) => (/^[0-9]{1,2}$/.test(code) ? code.padStart(3, '0') : code)),
  ),
  message: descriptive(text),
  traceId: descriptive(idSchema),
});

export const massPayoutSchema: z.ZodMiniType<MassPayout> = z.object({
  id: idSchema,
  idempotencyKey: descriptive(text),
  companyId: descriptive(idSchema),
  state: text,
  name: descriptive(text),
  comment: descriptive(text),
  currency: descriptive(text),
  totalCalypsoFee: optional(decimalSchema),
  totalCalypsoFeePercentage: optional(decimalSchema),
  executionDate: descriptive(text),
});

export const withdrawalErrorSchema: z.ZodMiniType<WithdrawalError> = z.object({
  id: descriptive(idSchema),
  status: text,
  // Missing means not known to be resolved: the conservative reading.
  errorResolved: z._default(z.boolean(), false),
  errorMessage: descriptive(text),
});

const withdrawalErrorsSchema = z.pipe(
  z.optional(z.nullable(z.array(withdrawalErrorSchema))),
  z.transform((errors: WithdrawalError[] | null | undefined) => errors ?? []),
);

export const withdrawalSchema: z.ZodMiniType<Withdrawal> = z.object({
  id: idSchema,
  state: text,
  amount: decimalSchema,
  currency: descriptive(text),
  depositAddress: descriptive(text),
  externalId: descriptive(idSchema),
  calypsoFee: optional(decimalSchema),
  transactionHash: descriptive(text),
  account: descriptive(idSchema),
  companyName: descriptive(text),
  createdDate: descriptive(text),
  withdrawalErrors: withdrawalErrorsSchema,
});

/** `{result, page, size, total, totalElements}`; a bare array is read as a one-page answer. */
export const withdrawalPageSchema: z.ZodMiniType<WithdrawalPage> = z.union([
  z.object({
    result: z.array(withdrawalSchema),
    page: descriptive(countSchema),
    size: descriptive(countSchema),
    total: descriptive(countSchema),
    totalElements: descriptive(countSchema),
  }),
  z.pipe(
    z.array(withdrawalSchema),
    z.transform((result: Withdrawal[]): WithdrawalPage => ({ result })),
  ),
]);

/**
 * A payment's errors as a single payout carries them: `withdrawalErrors` at the top, or nested as
 * `errors.withdrawalErrors[] = {withdrawalId, errors[]}` (one entry for its one payment).
 */
const nestedErrorsSchema = descriptive(
  z.object({
    withdrawalErrors: z.optional(
      z.nullable(
        z.array(
          z.object({
            withdrawalId: descriptive(idSchema),
            errors: withdrawalErrorsSchema,
          }),
        ),
      ),
    ),
  }),
);

export const singlePayoutSchema: z.ZodMiniType<SinglePayout> = z.pipe(
  z.object({
    id: idSchema,
    idempotencyKey: descriptive(text),
    state: descriptive(text),
    amount: optional(decimalSchema),
    currency: descriptive(text),
    depositAddress: descriptive(text),
    externalId: descriptive(idSchema),
    comment: descriptive(text),
    calypsoFee: optional(decimalSchema),
    calypsoFeePercentage: optional(decimalSchema),
    transactionHash: descriptive(text),
    createdDate: descriptive(text),
    executionDate: descriptive(text),
    withdrawalErrors: withdrawalErrorsSchema,
    errors: nestedErrorsSchema,
  }),
  z.transform(({ errors, ...payout }): SinglePayout => {
    const nested = errors?.withdrawalErrors ?? [];
    const withdrawalId = nested.find((entry) => entry.withdrawalId)?.withdrawalId;
    return {
      ...stripUndefined(payout),
      ...(withdrawalId !== undefined ? { withdrawalId } : {}),
      withdrawalErrors: [...payout.withdrawalErrors, ...nested.flatMap((entry) => entry.errors)],
    } as SinglePayout;
  }),
);

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export const accountSchema: z.ZodMiniType<Account> = z.object({
  account: descriptive(idSchema),
  name: descriptive(text),
  ownerId: descriptive(idSchema),
  balances: z.pipe(
    z.optional(z.nullable(z.array(z.object({ currency: text, amount: decimalSchema })))),
    z.transform((balances: AccountBalance[] | null | undefined) => balances ?? []),
  ),
});

export const webhookSubscriptionSchema: z.ZodMiniType<WebhookSubscription> = z.object({
  requestId: idSchema,
  url: descriptive(text),
  notificationServiceTypes: descriptive(textList),
  notificationEventTypes: descriptive(textList),
  publicKey: descriptive(text),
  secretKey: descriptive(text),
});
