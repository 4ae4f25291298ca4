/**
 * Fault injection: misbehaviour a test asks for, consumed as requests and events come by.
 * Each fault has a remaining count; the first pending fault of each kind that matches is used.
 */
import { ERROR_CODES, SandboxUsageError } from './errors.js';
import {
  OPERATIONS,
  type DelayOptions,
  type FailOptions,
  type OperationSelector,
  type SandboxOperation,
  type WebhookFaultFilter,
} from './types.js';

type OperationFault =
  | {
      kind: 'fail';
      operation: OperationSelector;
      remaining: number;
      status: number;
      errorCode: string;
      message: string;
      /** Matching calls still to let go by before this fault applies. */
      after: number;
    }
  | {
      kind: 'delay';
      operation: OperationSelector;
      remaining: number;
      ms: number;
      phase: 'beforeHandling' | 'afterHandling';
    }
  | { kind: 'drop'; operation: OperationSelector; remaining: number };

/** Misbehaviour of Calypso's own processing, taken as payouts and payments come by. */
type ProcessingFault =
  | {
      kind: 'replace';
      remaining: number;
      address?: string;
      replacementAfterMs: number;
      replacementFails: boolean;
    }
  | { kind: 'exceedLimit'; remaining: number; address?: string }
  | { kind: 'holdForConfirmation'; remaining: number }
  | { kind: 'cancel'; remaining: number };

/** What happens to one payment when it is sent. */
export interface SendFaultPlan {
  replacement?: { afterMs: number; fails: boolean };
  exceedsLimit: boolean;
}

type WebhookFault =
  | { kind: 'duplicate'; remaining: number; eventType?: string; copies: number }
  | { kind: 'reorder'; remaining: number; eventType?: string }
  | { kind: 'delay'; remaining: number; eventType?: string; ms: number }
  | { kind: 'withhold'; remaining: number; eventType?: string }
  | { kind: 'badSignature'; remaining: number; eventType?: string };

/** What to do to one request. */
export interface RequestFaultPlan {
  fail?: { status: number; errorCode: string; message: string };
  delay?: { ms: number; phase: 'beforeHandling' | 'afterHandling' };
  drop: boolean;
}

/** What to do to one event's deliveries. */
export interface WebhookFaultPlan {
  copies: number;
  delayMs: number;
  withhold: boolean;
  /** Hold for reordering; `releaseHeld` once the fault's last event arrived. */
  reorder: { releaseHeld: boolean } | undefined;
  badSignature: boolean;
}

export class FaultRegistry {
  private operationFaults: OperationFault[] = [];
  private webhookFaults: WebhookFault[] = [];
  private processingFaults: ProcessingFault[] = [];
  private readonly failing = new Set<string>();

  failNext(operation: OperationSelector, options: FailOptions = {}): void {
    const status = options.status ?? 500;
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new SandboxUsageError(`fault status must be an HTTP error status, not ${status}`);
    }
    this.operationFaults.push({
      kind: 'fail',
      operation: checkOperation(operation),
      remaining: checkCount(options.count),
      status,
      errorCode: options.errorCode ?? ERROR_CODES.internal,
      message: options.message ?? 'Internal server error',
      after: checkAfter(options.after),
    });
  }

  delayNext(operation: OperationSelector, options: DelayOptions): void {
    this.operationFaults.push({
      kind: 'delay',
      operation: checkOperation(operation),
      remaining: checkCount(options.count),
      ms: checkMs(options.ms),
      phase: options.phase ?? 'afterHandling',
    });
  }

  dropResponseNext(operation: OperationSelector, options: { count?: number } = {}): void {
    this.operationFaults.push({
      kind: 'drop',
      operation: checkOperation(operation),
      remaining: checkCount(options.count),
    });
  }

  /** Consumes the faults that apply to one call of `operation`. */
  takeForRequest(operation: SandboxOperation): RequestFaultPlan {
    const matches = (f: OperationFault) => f.operation === '*' || f.operation === operation;
    // A fail fault waiting for `after` calls counts this one and does not apply to it.
    const waiting = new Set<OperationFault>();
    for (const f of this.operationFaults) {
      if (f.kind === 'fail' && f.after > 0 && matches(f)) {
        f.after -= 1;
        waiting.add(f);
      }
    }
    const take = <K extends OperationFault['kind']>(kind: K) => {
      const fault = this.operationFaults.find(
        (f) => f.kind === kind && matches(f) && !waiting.has(f),
      );
      if (!fault) return undefined;
      fault.remaining -= 1;
      if (fault.remaining <= 0) this.operationFaults.splice(this.operationFaults.indexOf(fault), 1);
      return fault as Extract<OperationFault, { kind: K }>;
    };
    const fail = take('fail');
    const delay = take('delay');
    // A call that fails changes nothing, so there is no committed response to drop.
    const drop = fail ? undefined : take('drop');
    return {
      fail: fail && { status: fail.status, errorCode: fail.errorCode, message: fail.message },
      delay: delay && { ms: delay.ms, phase: delay.phase },
      drop: drop !== undefined,
    };
  }

  failAddresses(addresses: string[]): void {
    for (const address of addresses) {
      if (typeof address !== 'string' || address === '') throw new SandboxUsageError('bad address');
      this.failing.add(address);
    }
  }

  clearFailedAddresses(): void {
    this.failing.clear();
  }

  isFailingAddress(address: string): boolean {
    return this.failing.has(address);
  }

  replaceNext(
    options: {
      count?: number;
      address?: string;
      replacementAfterMs?: number;
      replacementFails?: boolean;
    } = {},
  ): void {
    this.processingFaults.push({
      kind: 'replace',
      remaining: checkCount(options.count),
      ...(options.address !== undefined ? { address: checkAddress(options.address) } : {}),
      replacementAfterMs: checkMs(options.replacementAfterMs ?? 0),
      replacementFails: options.replacementFails ?? false,
    });
  }

  exceedLimitNext(options: { count?: number; address?: string } = {}): void {
    this.processingFaults.push({
      kind: 'exceedLimit',
      remaining: checkCount(options.count),
      ...(options.address !== undefined ? { address: checkAddress(options.address) } : {}),
    });
  }

  holdForConfirmationNext(options: { count?: number } = {}): void {
    this.processingFaults.push({
      kind: 'holdForConfirmation',
      remaining: checkCount(options.count),
    });
  }

  cancelNext(options: { count?: number } = {}): void {
    this.processingFaults.push({ kind: 'cancel', remaining: checkCount(options.count) });
  }

  /** Consumes the faults that apply to one payment being sent for the first time. */
  takeForSend(address: string): SendFaultPlan {
    const limit = this.takeProcessing('exceedLimit', address);
    // A payment held at the limit is not sent yet: a replace fault waits for one that is.
    const replace = limit ? undefined : this.takeProcessing('replace', address);
    return {
      exceedsLimit: limit !== undefined,
      ...(replace
        ? {
            replacement: {
              afterMs: replace.replacementAfterMs,
              fails: replace.replacementFails,
            },
          }
        : {}),
    };
  }

  /** Consumes the faults that apply to one payout whose withdrawals were just created. */
  takeForPayout(): { holdForConfirmation: boolean; cancel: boolean } {
    return {
      holdForConfirmation: this.takeProcessing('holdForConfirmation') !== undefined,
      cancel: this.takeProcessing('cancel') !== undefined,
    };
  }

  private takeProcessing<K extends ProcessingFault['kind']>(
    kind: K,
    address?: string,
  ): Extract<ProcessingFault, { kind: K }> | undefined {
    const fault = this.processingFaults.find(
      (f) =>
        f.kind === kind && (!('address' in f) || f.address === undefined || f.address === address),
    );
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.processingFaults.splice(this.processingFaults.indexOf(fault), 1);
    return fault as Extract<ProcessingFault, { kind: K }>;
  }

  duplicateWebhooks(options: WebhookFaultFilter & { count?: number; copies?: number } = {}): void {
    this.webhookFaults.push({
      kind: 'duplicate',
      remaining: checkCount(options.count),
      eventType: options.eventType,
      copies: checkCount(options.copies),
    });
  }

  reorderWebhooks(count: number, options: WebhookFaultFilter = {}): void {
    if (!Number.isInteger(count) || count < 2) {
      throw new SandboxUsageError('reordering needs a count of at least 2 events');
    }
    this.webhookFaults.push({ kind: 'reorder', remaining: count, eventType: options.eventType });
  }

  delayWebhooks(options: WebhookFaultFilter & { ms: number; count?: number }): void {
    this.webhookFaults.push({
      kind: 'delay',
      remaining: checkCount(options.count),
      eventType: options.eventType,
      ms: checkMs(options.ms),
    });
  }

  withholdWebhooks(options: WebhookFaultFilter & { count?: number } = {}): void {
    this.webhookFaults.push({
      kind: 'withhold',
      remaining: checkCount(options.count),
      eventType: options.eventType,
    });
  }

  badSignatureWebhooks(options: WebhookFaultFilter & { count?: number } = {}): void {
    this.webhookFaults.push({
      kind: 'badSignature',
      remaining: checkCount(options.count),
      eventType: options.eventType,
    });
  }

  /** Consumes the faults that apply to one event of type `eventType`. */
  takeForWebhook(eventType: string): WebhookFaultPlan {
    const take = <K extends WebhookFault['kind']>(kind: K) => {
      const fault = this.webhookFaults.find(
        (f) => f.kind === kind && (f.eventType === undefined || f.eventType === eventType),
      );
      if (!fault) return undefined;
      fault.remaining -= 1;
      if (fault.remaining <= 0) this.webhookFaults.splice(this.webhookFaults.indexOf(fault), 1);
      return fault as Extract<WebhookFault, { kind: K }>;
    };
    const withhold = take('withhold');
    const reorder = withhold ? undefined : take('reorder');
    return {
      withhold: withhold !== undefined,
      reorder: reorder && { releaseHeld: reorder.remaining <= 0 },
      copies: take('duplicate')?.copies ?? 0,
      delayMs: take('delay')?.ms ?? 0,
      badSignature: take('badSignature') !== undefined,
    };
  }

  list(): unknown[] {
    return [
      ...this.operationFaults.map((f) => ({ target: 'request', ...f })),
      ...this.webhookFaults.map((f) => ({ target: 'webhook', ...f })),
      ...this.processingFaults.map((f) => ({ target: 'processing', ...f })),
      ...[...this.failing].map((address) => ({ target: 'address', kind: 'fail', address })),
    ];
  }

  clear(): void {
    this.operationFaults = [];
    this.webhookFaults = [];
    this.processingFaults = [];
    this.failing.clear();
  }
}

function checkAddress(address: string): string {
  if (typeof address !== 'string' || address === '') throw new SandboxUsageError('bad address');
  return address;
}

function checkOperation(operation: OperationSelector): OperationSelector {
  if (operation !== '*' && !(OPERATIONS as readonly string[]).includes(operation)) {
    throw new SandboxUsageError(
      `unknown operation ${JSON.stringify(operation)}; one of ${OPERATIONS}`,
    );
  }
  return operation;
}

function checkCount(count: number | undefined): number {
  const value = count ?? 1;
  if (!Number.isInteger(value) || value < 1) throw new SandboxUsageError(`bad count ${count}`);
  return value;
}

function checkAfter(after: number | undefined): number {
  const value = after ?? 0;
  if (!Number.isInteger(value) || value < 0) throw new SandboxUsageError(`bad after ${after}`);
  return value;
}

function checkMs(ms: number): number {
  if (!Number.isFinite(ms) || ms < 0) throw new SandboxUsageError(`bad duration ${ms}`);
  return ms;
}
