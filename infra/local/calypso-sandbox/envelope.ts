/**
 * The checks every Calypso call goes through before its operation sees it, in this order:
 *
 *   Key header names a known API key                        else 002
 *   Sign header is HMAC-SHA512(raw body, that key's secret)  else 003
 *   body is a JSON object {timestamp, account, payload?}     else 001
 *   timestamp (Unix ms, an integer) within 3 min of now      else 011
 *   account is the key's own account                         else 001
 *   payload present exactly when the operation takes input   else 001
 */
import { signatureMatches } from '../../../shared/calypso/signing.js';
import { CalypsoError, ERROR_CODES, badRequest } from './errors.js';
import { isJsonObject, JsonNumber, parseJson, type JsonObject } from './json.js';
import type { AccountState, SandboxStore } from './store.js';

/** How far `timestamp` may be from the sandbox clock, either way. */
export const TIMESTAMP_TOLERANCE_MS = 3 * 60_000;

export interface Envelope {
  timestamp: number;
  account: string;
  payload: JsonObject | undefined;
}

/** Finds the key's account (002) and checks the signature over the exact body (003). */
export function authenticate(
  store: SandboxStore,
  apiKey: string | undefined,
  signature: string | undefined,
  body: string,
): AccountState {
  const account = apiKey === undefined ? undefined : store.accountByKey(apiKey);
  if (!account) throw new CalypsoError(ERROR_CODES.invalidApiKey, 'Invalid api key');
  if (signature === undefined || !signatureMatches(body, signature, account.secretKey)) {
    throw new CalypsoError(ERROR_CODES.wrongSign, 'Wrong sign');
  }
  return account;
}

export function readEnvelope(
  body: string,
  takesPayload: boolean,
  account: AccountState,
  now: number,
): Envelope {
  let parsed: unknown;
  try {
    parsed = parseJson(body);
  } catch (error) {
    throw badRequest(`Malformed JSON: ${(error as Error).message}`);
  }
  if (!isJsonObject(parsed)) throw badRequest('The body must be a JSON object');
  for (const key of Object.keys(parsed)) {
    if (key !== 'timestamp' && key !== 'account' && key !== 'payload') {
      throw badRequest(`${key} is not a known field of the request`);
    }
  }

  const timestamp = parsed.timestamp;
  if (!(timestamp instanceof JsonNumber) || !/^[0-9]{1,16}$/.test(timestamp.text)) {
    throw badRequest('timestamp is required: Unix UTC time in milliseconds, an integer');
  }
  const millis = Number(timestamp.text);
  if (Math.abs(millis - now) > TIMESTAMP_TOLERANCE_MS) {
    throw new CalypsoError(
      ERROR_CODES.invalidTimestamp,
      'Invalid timestamp: it must be within 3 minutes of the current time',
    );
  }

  if (typeof parsed.account !== 'string' || parsed.account === '') {
    throw badRequest('account is required');
  }
  if (parsed.account !== account.account) {
    throw badRequest('account does not belong to this api key');
  }

  const payload = parsed.payload;
  if (!takesPayload) {
    if (payload !== undefined) throw badRequest('This request takes no payload');
    return { timestamp: millis, account: parsed.account, payload: undefined };
  }
  if (!isJsonObject(payload)) throw badRequest('payload is required and must be a JSON object');
  return { timestamp: millis, account: parsed.account, payload };
}
