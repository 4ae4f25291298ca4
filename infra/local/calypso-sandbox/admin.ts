/**
 * The admin API under `/__sandbox`, mirroring the programmatic one for tools outside the test
 * process (the local stack, curl). Plain JSON in and out; amounts are decimal strings. Errors
 * are `{error}` with HTTP 400 (bad input) or 404 (no such endpoint).
 */
import { SandboxUsageError } from './errors.js';
import type { AdminHandler, HttpReply } from './server.js';
import { ADMIN_PREFIX } from './server.js';
import type { CalypsoSandbox, OperationSelector } from './types.js';

type Body = Record<string, unknown>;
type Endpoint = (body: Body, query: URLSearchParams) => unknown | Promise<unknown>;

class AdminInputError extends Error {}

/** The endpoints, by `METHOD path` (path after `/__sandbox`). */
function endpoints(sandbox: CalypsoSandbox): Record<string, Endpoint> {
  const { faults, inspect } = sandbox;
  return {
    'GET ': () => ({ endpoints: Object.keys(endpoints(sandbox)).map(describe) }),
    'GET /clock': () => clockView(sandbox),
    'POST /clock/advance': async (body) => {
      await sandbox.advance(number(body, 'ms'));
      return clockView(sandbox);
    },
    'GET /balances': (_body, query) => ({
      balances: inspect.balances(query.get('account') ?? undefined),
    }),
    'POST /balances/top-up': (body) => {
      sandbox.topUp(
        string(body, 'currency'),
        string(body, 'amount'),
        optionalString(body, 'account'),
      );
      return { balances: inspect.balances(optionalString(body, 'account')) };
    },
    'POST /balances/set': (body) => {
      sandbox.setBalance(
        string(body, 'currency'),
        string(body, 'amount'),
        optionalString(body, 'account'),
      );
      return { balances: inspect.balances(optionalString(body, 'account')) };
    },
    'GET /faults': () => ({ faults: faults.list() }),
    'DELETE /faults': () => {
      faults.clear();
      return { faults: faults.list() };
    },
    'POST /faults/fail': (body) =>
      faults.failNext(operation(body), {
        count: optionalNumber(body, 'count'),
        status: optionalNumber(body, 'status'),
        errorCode: optionalString(body, 'errorCode'),
        message: optionalString(body, 'message'),
        after: optionalNumber(body, 'after'),
      }),
    'POST /faults/delay': (body) =>
      faults.delayNext(operation(body), {
        ms: number(body, 'ms'),
        count: optionalNumber(body, 'count'),
        phase: phase(body),
      }),
    'POST /faults/drop-response': (body) =>
      faults.dropResponseNext(operation(body), { count: optionalNumber(body, 'count') }),
    'POST /faults/fail-addresses': (body) => faults.failAddresses(strings(body, 'addresses')),
    'DELETE /faults/fail-addresses': () => faults.clearFailedAddresses(),
    'POST /faults/replace': (body) =>
      faults.replaceNext({
        count: optionalNumber(body, 'count'),
        address: optionalString(body, 'address'),
        replacementAfterMs: optionalNumber(body, 'replacementAfterMs'),
        replacementFails: optionalBoolean(body, 'replacementFails'),
      }),
    'POST /faults/exceed-limit': (body) =>
      faults.exceedLimitNext({
        count: optionalNumber(body, 'count'),
        address: optionalString(body, 'address'),
      }),
    'POST /faults/hold-for-confirmation': (body) =>
      faults.holdForConfirmationNext({ count: optionalNumber(body, 'count') }),
    'POST /faults/cancel': (body) => faults.cancelNext({ count: optionalNumber(body, 'count') }),
    'POST /ui/confirm': (body) => sandbox.ui.confirm(string(body, 'payoutId')),
    'POST /ui/cancel': (body) => sandbox.ui.cancel(string(body, 'payoutId')),
    'POST /ui/allow-over-limit': (body) => sandbox.ui.allowOverLimit(string(body, 'withdrawalId')),
    'POST /faults/webhooks/duplicate': (body) =>
      faults.webhooks.duplicateNext({
        count: optionalNumber(body, 'count'),
        copies: optionalNumber(body, 'copies'),
        eventType: optionalString(body, 'eventType'),
      }),
    'POST /faults/webhooks/reorder': (body) =>
      faults.webhooks.reorderNext(number(body, 'count'), {
        eventType: optionalString(body, 'eventType'),
      }),
    'POST /faults/webhooks/delay': (body) =>
      faults.webhooks.delayNext({
        ms: number(body, 'ms'),
        count: optionalNumber(body, 'count'),
        eventType: optionalString(body, 'eventType'),
      }),
    'POST /faults/webhooks/withhold': (body) =>
      faults.webhooks.withholdNext({
        count: optionalNumber(body, 'count'),
        eventType: optionalString(body, 'eventType'),
      }),
    'POST /faults/webhooks/release-withheld': () => ({
      released: faults.webhooks.releaseWithheld(),
    }),
    'POST /faults/webhooks/bad-signature': (body) =>
      faults.webhooks.badSignatureNext({
        count: optionalNumber(body, 'count'),
        eventType: optionalString(body, 'eventType'),
      }),
    'GET /requests': () => ({ requests: inspect.requests() }),
    'GET /mass-payouts': () => ({ massPayouts: inspect.massPayouts() }),
    'GET /payouts': () => ({ payouts: inspect.payouts() }),
    'GET /mass-payout-creates': (_body, query) => {
      const key = query.get('idempotencyKey');
      if (!key) throw new AdminInputError('query parameter idempotencyKey is required');
      return {
        idempotencyKey: key,
        created: inspect.massPayoutCreates(key),
        attempts: inspect.massPayoutCreateAttempts(key),
      };
    },
    'GET /events': () => ({ events: inspect.events() }),
    'GET /webhook-deliveries': () => ({ deliveries: inspect.webhookDeliveries() }),
    'GET /subscriptions': () => ({ subscriptions: inspect.subscriptions() }),
    'GET /internal-errors': () => ({ errors: inspect.internalErrors() }),
    'POST /reset': () => sandbox.reset(),
  };
}

export function createAdminHandler(sandbox: () => CalypsoSandbox): AdminHandler {
  return async (method, url, text): Promise<HttpReply> => {
    const table = endpoints(sandbox());
    const path = url.pathname.slice(ADMIN_PREFIX.length).replace(/\/$/, '');
    const endpoint = table[`${method} ${path}`];
    if (!endpoint) {
      return json(404, { error: `no admin endpoint ${method} ${ADMIN_PREFIX}${path}` });
    }
    try {
      const body = parseBody(text);
      const result = await endpoint(body, url.searchParams);
      return json(200, result ?? { ok: true });
    } catch (error) {
      if (!(error instanceof AdminInputError || error instanceof SandboxUsageError)) throw error;
      return json(400, { error: error.message });
    }
  };
}

function describe(key: string): string {
  const [method, path] = key.split(' ');
  return `${method} ${ADMIN_PREFIX}${path}`;
}

function clockView(sandbox: CalypsoSandbox) {
  return { now: sandbox.now(), iso: new Date(sandbox.now()).toISOString() };
}

function json(status: number, value: unknown): HttpReply {
  return { status, body: JSON.stringify(value) };
}

function parseBody(text: string): Body {
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AdminInputError('body must be JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AdminInputError('body must be a JSON object');
  }
  return value as Body;
}

function string(body: Body, name: string): string {
  const value = body[name];
  if (typeof value !== 'string') throw new AdminInputError(`${name} must be a string`);
  return value;
}

function optionalString(body: Body, name: string): string | undefined {
  return body[name] === undefined ? undefined : string(body, name);
}

function number(body: Body, name: string): number {
  const value = body[name];
  if (typeof value !== 'number') throw new AdminInputError(`${name} must be a number`);
  return value;
}

function optionalNumber(body: Body, name: string): number | undefined {
  return body[name] === undefined ? undefined : number(body, name);
}

function optionalBoolean(body: Body, name: string): boolean | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw new AdminInputError(`${name} must be true or false`);
  return value;
}

function strings(body: Body, name: string): string[] {
  const value = body[name];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new AdminInputError(`${name} must be an array of strings`);
  }
  return value as string[];
}

function operation(body: Body): OperationSelector {
  return string(body, 'operation') as OperationSelector;
}

function phase(body: Body): 'beforeHandling' | 'afterHandling' | undefined {
  const value = optionalString(body, 'phase');
  if (value !== undefined && value !== 'beforeHandling' && value !== 'afterHandling') {
    throw new AdminInputError('phase must be beforeHandling or afterHandling');
  }
  return value;
}
