/**
 * What each Lambda handler may touch and how big it is. API handlers come from ROUTES; the
 * others (async-invoked or scheduled) are listed in BACKGROUND_FUNCTIONS. A handler without an
 * entry here still deploys, with the default for its HTTP method (see `functionSpec`).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TABLE } from '../shared/store/table.js';

/** The repository root: NodejsFunction's project root (package-lock.json, functions/, shared/). */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The source file of a handler; fails early, naming the file, when it does not exist. */
export function handlerEntry(handler: string): string {
  const entry = join(PROJECT_ROOT, 'functions', `${handler}.ts`);
  if (!existsSync(entry)) throw new Error(`no handler file functions/${handler}.ts`);
  return entry;
}

/** DynamoDB actions the repository uses; it never scans or deletes. */
export type TableAction =
  | 'GetItem'
  | 'Query'
  | 'PutItem'
  | 'UpdateItem'
  | 'BatchWriteItem'
  | 'ConditionCheckItem'
  | 'PartiQLUpdate'
  | 'BatchGetItem';

export type IndexKey = keyof typeof TABLE.indexes;

export interface FunctionAccess {
  /** Actions on the base table (TransactWriteItems is authorised by its Put/Update/ConditionCheck). */
  table: readonly TableAction[];
  /** Global secondary indexes it queries. */
  indexes: readonly IndexKey[];
  /** Reads the Calypso API signing key (signs requests to Calypso). */
  signingKey: boolean;
  /** Reads the webhook subscriptions' keys (verifies Calypso's webhooks). */
  webhookKeys: boolean;
  /** Async-invokes the submit function. */
  invokeSubmit: boolean;
  /** Async-invokes the apply-webhook function (the webhook route, once an event is stored). */
  invokeApply: boolean;
  /** Invokes the get-balances function (reads balances without holding the signing key). */
  invokeBalances: boolean;
  /** Publishes domain events to the stack's event bus. */
  publishEvents: boolean;
}

export interface FunctionSpec {
  memoryMb: number;
  timeoutSeconds: number;
  access: FunctionAccess;
}

const NONE: FunctionAccess = {
  table: [],
  indexes: [],
  signingKey: false,
  webhookKeys: false,
  invokeSubmit: false,
  invokeApply: false,
  invokeBalances: false,
  publishEvents: false,
};
const READ: readonly TableAction[] = ['GetItem', 'Query'];
const WRITE: readonly TableAction[] = [
  ...READ,
  'PutItem',
  'UpdateItem',
  'BatchWriteItem',
  'ConditionCheckItem',
];
/** A lookup writes a batch's withdrawals 25 conditional updates a request (BatchExecuteStatement). */
const LOOK: readonly TableAction[] = [...WRITE, 'PartiQLUpdate'];

/**
 * API Gateway's integration timeout is 29 s: an API function must finish first. Also below the
 * create handler's 60 s idempotency write lease, so a live request is never taken over.
 */
const API_TIMEOUT_SECONDS = 28;

export const FUNCTION_SPECS: Readonly<Record<string, FunctionSpec>> = {
  'create-payout': {
    // Validates up to MAX_RECIPIENTS addresses (checksums) and writes them: CPU scales with memory.
    memoryMb: 1024,
    timeoutSeconds: API_TIMEOUT_SECONDS,
    access: {
      ...NONE,
      table: WRITE,
      // No signing key: the dry run reads the balance through get-balances.
      invokeBalances: true,
      invokeSubmit: true,
      publishEvents: true,
    },
  },
  'get-payout': {
    memoryMb: 256,
    timeoutSeconds: API_TIMEOUT_SECONDS,
    access: { ...NONE, table: READ },
  },
  'list-withdrawals': {
    memoryMb: 256,
    timeoutSeconds: API_TIMEOUT_SECONDS,
    access: { ...NONE, table: READ },
  },
  'find-withdrawals': {
    memoryMb: 256,
    timeoutSeconds: API_TIMEOUT_SECONDS,
    access: { ...NONE, indexes: ['byExternalId'] },
  },
  'list-payouts': {
    memoryMb: 256,
    timeoutSeconds: API_TIMEOUT_SECONDS,
    access: { ...NONE, table: READ, indexes: ['byOwner', 'allPayouts'] },
  },
  'list-events': {
    memoryMb: 256,
    timeoutSeconds: API_TIMEOUT_SECONDS,
    access: { ...NONE, table: READ },
  },
  'get-balances': {
    memoryMb: 256,
    timeoutSeconds: API_TIMEOUT_SECONDS,
    access: { ...NONE, signingKey: true },
  },
  'calypso-webhook': {
    memoryMb: 256,
    timeoutSeconds: 10,
    // Stores the event (one conditional PutItem) and hands it to apply-webhook.
    access: { ...NONE, table: ['PutItem'], webhookKeys: true, invokeApply: true },
  },
  'apply-webhook': {
    memoryMb: 512,
    // Below the webhook claim's lease (60 s), so a running apply is never taken over.
    timeoutSeconds: 30,
    // Applies the event (a payment by its externalId) and looks a finished batch up at once; reads
    // the event and its batch in one BatchGetItem.
    access: {
      ...NONE,
      table: [...LOOK, 'BatchGetItem'],
      indexes: ['byExternalId'],
      signingKey: true,
      publishEvents: true,
    },
  },
  'retry-failed': {
    memoryMb: 512,
    timeoutSeconds: API_TIMEOUT_SECONDS,
    // Reads the failed payments again at Calypso before re-paying any.
    access: { ...NONE, table: WRITE, signingKey: true, invokeSubmit: true, publishEvents: true },
  },
  'approve-payout': {
    memoryMb: 256,
    timeoutSeconds: API_TIMEOUT_SECONDS,
    // The last approval hands the payout to submission.
    access: { ...NONE, table: WRITE, invokeSubmit: true, publishEvents: true },
  },
  'reject-payout': {
    memoryMb: 256,
    timeoutSeconds: API_TIMEOUT_SECONDS,
    access: { ...NONE, table: WRITE, publishEvents: true },
  },
  'cancel-payout': {
    memoryMb: 256,
    timeoutSeconds: API_TIMEOUT_SECONDS,
    access: { ...NONE, table: WRITE, publishEvents: true },
  },
  'list-approvals': {
    memoryMb: 256,
    timeoutSeconds: API_TIMEOUT_SECONDS,
    access: { ...NONE, indexes: ['pendingApproval'] },
  },
  'admin-pause': {
    memoryMb: 256,
    timeoutSeconds: API_TIMEOUT_SECONDS,
    access: { ...NONE, table: WRITE, publishEvents: true },
  },
  'submit-payouts': {
    memoryMb: 512,
    // Below SUBMISSION_LEASE_MS (shared/defaults.ts): a running submission's lease never expires under it.
    timeoutSeconds: 180,
    access: {
      ...NONE,
      table: WRITE,
      signingKey: true,
      publishEvents: true,
    },
  },
  reconcile: {
    memoryMb: 512,
    // A tick stops taking work before its time runs out; the next tick carries on.
    timeoutSeconds: 60,
    access: {
      ...NONE,
      table: LOOK,
      // The open-batch index (also the events left unapplied) and, applying those, byExternalId.
      indexes: ['openBatches', 'byExternalId'],
      signingKey: true,
      publishEvents: true,
    },
  },
};

/** The handler that reads balances for functions without the signing key (create-payout's dry run). */
export const BALANCES_HANDLER = 'get-balances';

/**
 * The spec of a handler, or for a route handler without an entry: read-only on the base table
 * for GET, read/write for POST, nothing else (no secret, no invoke, no events).
 */
export function functionSpec(handler: string, method?: 'GET' | 'POST'): FunctionSpec {
  const spec = FUNCTION_SPECS[handler];
  if (spec) return spec;
  if (!method) throw new Error(`functions.ts has no spec for the background handler ${handler}`);
  return {
    memoryMb: 256,
    timeoutSeconds: API_TIMEOUT_SECONDS,
    access: { ...NONE, table: method === 'GET' ? READ : WRITE },
  };
}

export function hasSpec(handler: string): boolean {
  return handler in FUNCTION_SPECS;
}

/** Functions not behind API Gateway, and what starts them. */
export interface BackgroundFunction {
  handler: string;
  /**
   * `submit`: async-invoked by the API with `{payoutId}` (retries and a failure queue);
   * `apply`: async-invoked by the webhook route with `{eventId}` (retries and a failure queue);
   * `schedule`: run by the EventBridge schedule every `reconcileRate` minutes.
   */
  trigger: 'submit' | 'apply' | 'schedule';
}

export const BACKGROUND_FUNCTIONS: readonly BackgroundFunction[] = [
  { handler: 'submit-payouts', trigger: 'submit' },
  { handler: 'apply-webhook', trigger: 'apply' },
  { handler: 'reconcile', trigger: 'schedule' },
];
