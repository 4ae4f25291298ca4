/**
 * Calypso sandbox: a local stand-in for Calypso Pay's payout API (see README.md beside this file
 * and shared/calypso-api.md). It checks requests as strictly as Calypso, runs payouts through
 * their lifecycle on a clock the caller controls, sends signed webhooks, and misbehaves on demand.
 *
 *   const sandbox = await startCalypsoSandbox({ seed: 1 });
 *   // ... POST signed requests to `${sandbox.url}/api/v1/...`
 *   await sandbox.advance(60_000);
 *   await sandbox.close();
 */
import { CALYPSO_DEFAULTS } from '../../../shared/defaults.js';
import { CurrencyRegistry } from '../../../shared/domain/currencies.js';
import { Decimal } from '../../../shared/domain/money.js';
import { createAdminHandler } from './admin.js';
import { calypsoRoutes } from './calypso-api.js';
import { ManualClock, RealtimeClock, Scheduler } from './clock.js';
import { SandboxUsageError } from './errors.js';
import { FaultRegistry } from './faults.js';
import { createRandom, IdFactory } from './ids.js';
import { payoutSnapshot, RequestLog } from './inspection.js';
import { PayoutEngine, type LifecycleTimings } from './lifecycle.js';
import { SandboxServer } from './server.js';
import { accountState, SandboxStore } from './store.js';
import type { CalypsoSandbox, SandboxAccount, SandboxOptions } from './types.js';
import { CALYPSO_RETRY_SCHEDULE_MS, WebhookDispatcher } from './webhooks.js';

export * from './types.js';
export { CALYPSO_RETRY_SCHEDULE_MS } from './webhooks.js';
export { SandboxUsageError } from './errors.js';

/** The documented signing test vector's keys (calypso-api.md §1), under an account of our own. */
export const TEST_VECTOR_ACCOUNT: Readonly<SandboxAccount> = Object.freeze({
  account: 'sandbox-account',
  apiKey: 'c529e14832b34b74972365cf7bf02430',
  secretKey: 'b823a6b9ea72408583cef9ec8d67fa52',
});

export const DEFAULT_TIMINGS: Readonly<LifecycleTimings> = Object.freeze({
  withdrawalsCreatedAfterMs: 2_000,
  inProgressAfterMs: 5_000,
  completedAfterMs: 30_000,
});

/** The opening balance of every currency when no balances are given. */
export const GENEROUS_BALANCE = '1000000000';

export async function startCalypsoSandbox(options: SandboxOptions = {}): Promise<CalypsoSandbox> {
  const currencies = options.currencies ?? new CurrencyRegistry();
  const pathPrefix = normalisePath(options.pathPrefix ?? CALYPSO_DEFAULTS.pathPrefix, 'pathPrefix');
  const withdrawalsPath = normalisePath(
    options.withdrawalsPath ?? CALYPSO_DEFAULTS.withdrawalsPath,
    'withdrawalsPath',
  );
  const firstPage = options.firstPage ?? CALYPSO_DEFAULTS.firstPage;
  if (firstPage !== 0 && firstPage !== 1) throw new SandboxUsageError('firstPage must be 0 or 1');
  const timings: LifecycleTimings = { ...DEFAULT_TIMINGS, ...definedOnly(options.timings ?? {}) };
  for (const [name, ms] of Object.entries(timings)) checkDuration(ms, `timings.${name}`);
  const retryScheduleMs = options.webhookRetryScheduleMs ?? CALYPSO_RETRY_SCHEDULE_MS;
  retryScheduleMs.forEach((ms, i) => checkDuration(ms, `webhookRetryScheduleMs[${i}]`));
  const webhookConcurrency = options.webhookConcurrency ?? 10;
  if (!Number.isSafeInteger(webhookConcurrency) || webhookConcurrency < 1) {
    throw new SandboxUsageError('webhookConcurrency must be a positive whole number');
  }
  const feePercentage = parseDecimal(options.feePercentage ?? '0.5', 'feePercentage');
  if (feePercentage.isNegative()) throw new SandboxUsageError('feePercentage must not be negative');

  const clockOptions = options.clock ?? { mode: 'manual' };
  const clock =
    clockOptions.mode === 'manual'
      ? new ManualClock(clockOptions.startAt ?? Date.now())
      : new RealtimeClock(clockOptions.speed ?? 1);

  const internalErrors: string[] = [];
  const onInternalError = (context: string, error: unknown) => {
    internalErrors.push(`${context}: ${error instanceof Error ? error.stack : String(error)}`);
  };

  const ids = new IdFactory(createRandom(options.seed));
  const openingBalances = openingBalanceMap(currencies, options.balances);
  const accounts = options.accounts ?? [TEST_VECTOR_ACCOUNT];
  if (accounts.length === 0) throw new SandboxUsageError('the sandbox needs at least one account');
  const store = new SandboxStore(
    accounts.map((a) => accountState(a, { companyId: ids.uuid(), ownerId: ids.uuid() })),
    openingBalances,
  );
  const scheduler = new Scheduler(clock, (label, error) => onInternalError(label, error));
  const faults = new FaultRegistry();
  const webhooks = new WebhookDispatcher({
    store,
    scheduler,
    clock,
    faults,
    retryScheduleMs,
    timeoutMs: options.webhookTimeoutMs ?? 10_000,
    concurrency: webhookConcurrency,
  });
  const engine = new PayoutEngine({
    store,
    scheduler,
    clock,
    ids,
    currencies,
    faults,
    webhooks,
    timings,
    feePercentage,
    mixedOutcomeState: options.mixedOutcomeState ?? 'COMPLETED',
    confirmationRequired: options.confirmationRequired ?? false,
  });
  const requests = new RequestLog();

  const changeBalance = (
    currency: string,
    amount: string,
    account: string | undefined,
    change: (current: Decimal, value: Decimal) => Decimal,
  ) => {
    if (!currencies.get(currency)) throw new SandboxUsageError(`unknown currency ${currency}`);
    const value = parseDecimal(amount, 'amount');
    let owner;
    try {
      owner = store.requireAccount(account);
    } catch (error) {
      throw new SandboxUsageError((error as Error).message);
    }
    const before = store.balance(owner.account, currency);
    const after = change(before, value);
    if (after.isNegative()) throw new SandboxUsageError('a balance cannot be negative');
    store.setBalance(owner.account, currency, after);
    if (after.compare(before) > 0) engine.fundsAdded(owner.account, currency);
  };

  // The admin API drives the sandbox object, which exists once the server listens.
  const built: { sandbox?: CalypsoSandbox } = {};
  const server = new SandboxServer({
    pathPrefix,
    routes: calypsoRoutes({ store, engine, ids, clock, currencies, withdrawalsPath, firstPage }),
    store,
    clock,
    faults,
    ids,
    requests,
    admin: createAdminHandler(() => built.sandbox!),
    onInternalError,
  });
  const port = await server.listen(options.port ?? 0);

  const sandbox: CalypsoSandbox = {
    url: `http://127.0.0.1:${port}`,
    pathPrefix,
    accounts: accounts.map((a) => ({ ...a })),
    advance: (ms) => scheduler.advance(ms),
    now: () => clock.now(),
    topUp: (currency, amount, account) =>
      changeBalance(currency, amount, account, (current, value) => {
        if (!value.isPositive()) throw new SandboxUsageError('a top-up must be positive');
        return current.add(value);
      }),
    setBalance: (currency, amount, account) =>
      changeBalance(currency, amount, account, (_current, value) => value),
    faults: {
      failNext: (operation, fail) => faults.failNext(operation, fail),
      delayNext: (operation, delay) => faults.delayNext(operation, delay),
      dropResponseNext: (operation, drop) => faults.dropResponseNext(operation, drop),
      failAddresses: (addresses) => faults.failAddresses(addresses),
      clearFailedAddresses: () => faults.clearFailedAddresses(),
      replaceNext: (replace) => faults.replaceNext(replace),
      exceedLimitNext: (limit) => faults.exceedLimitNext(limit),
      holdForConfirmationNext: (hold) => faults.holdForConfirmationNext(hold),
      cancelNext: (cancel) => faults.cancelNext(cancel),
      webhooks: {
        duplicateNext: (duplicate) => faults.duplicateWebhooks(duplicate),
        reorderNext: (count, filter) => faults.reorderWebhooks(count, filter),
        delayNext: (delay) => faults.delayWebhooks(delay),
        withholdNext: (withhold) => faults.withholdWebhooks(withhold),
        releaseWithheld: () => webhooks.releaseWithheld(),
        badSignatureNext: (bad) => faults.badSignatureWebhooks(bad),
      },
      list: () => faults.list(),
      clear: () => faults.clear(),
    },
    ui: {
      confirm: (payoutId) => engine.confirm(payoutId),
      cancel: (payoutId) => engine.cancel(payoutId),
      allowOverLimit: (withdrawalId) => engine.allowOverLimit(withdrawalId),
    },
    inspect: {
      requests: () => requests.snapshot(),
      massPayoutCreates: (key) => store.massCreates.get(key) ?? 0,
      massPayoutCreateAttempts: (key) => requests.massPayoutCreateAttempts(key),
      massPayouts: () =>
        [...store.deals.values()].filter((d) => d.kind === 'mass').map(payoutSnapshot),
      payouts: () =>
        [...store.deals.values()].filter((d) => d.kind === 'single').map(payoutSnapshot),
      events: () => webhooks.eventSnapshots(),
      webhookDeliveries: () => webhooks.deliverySnapshots(),
      subscriptions: () =>
        [...store.subscriptions.values()].map((s) => ({
          requestId: s.requestId,
          account: s.account,
          url: s.url,
          notificationEventTypes: [...s.notificationEventTypes],
          notificationServiceTypes: [...s.notificationServiceTypes],
          publicKey: s.publicKey,
          secretKey: s.secretKey,
          blocked: s.blocked,
        })),
      balances: (account) => {
        let owner;
        try {
          owner = store.requireAccount(account);
        } catch (error) {
          throw new SandboxUsageError((error as Error).message);
        }
        return Object.fromEntries(
          currencies
            .codes()
            .map((code) => [code, store.balance(owner.account, code).normalize().toString()]),
        );
      },
      internalErrors: () => [...internalErrors],
    },
    reset: () => {
      scheduler.clear();
      store.reset();
      faults.clear();
      webhooks.reset();
      requests.reset();
    },
    close: async () => {
      webhooks.close();
      await Promise.all([scheduler.close(), server.close()]);
    },
  };
  built.sandbox = sandbox;
  return sandbox;
}

function openingBalanceMap(
  currencies: CurrencyRegistry,
  balances: Record<string, string> | undefined,
): Map<string, Decimal> {
  const opening = new Map<string, Decimal>();
  for (const code of currencies.codes()) {
    opening.set(code, balances ? Decimal.ZERO : Decimal.parse(GENEROUS_BALANCE));
  }
  for (const [code, text] of Object.entries(balances ?? {})) {
    if (!currencies.get(code)) throw new SandboxUsageError(`balances: unknown currency ${code}`);
    const value = parseDecimal(text, `balances.${code}`);
    if (value.isNegative()) throw new SandboxUsageError(`balances.${code} is negative`);
    opening.set(code, value);
  }
  return opening;
}

function parseDecimal(text: string, name: string): Decimal {
  const value = Decimal.tryParse(text);
  if (!value) throw new SandboxUsageError(`${name} must be a plain decimal string, not ${text}`);
  return value;
}

function normalisePath(path: string, name: string): string {
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(path)) {
    throw new SandboxUsageError(`${name} must look like /a/b, not ${JSON.stringify(path)}`);
  }
  return path;
}

function checkDuration(ms: number, name: string): void {
  if (!Number.isFinite(ms) || ms < 0) throw new SandboxUsageError(`${name} must be ≥ 0 ms`);
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
