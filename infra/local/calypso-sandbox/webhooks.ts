/**
 * Webhook delivery as Calypso does it: every event goes to each subscription of its account that
 * asked for the event's type (or its service), as a POST of
 * `{requestId, id, createdDate, level, service, eventType, data}` with `Key` (the subscription's
 * public key) and `Sign` (HMAC-SHA512 of the raw body with the subscription's secret). Anything
 * but HTTP 200 is retried on the retry schedule; a subscription with more than 100 failures in 10
 * minutes and no success in between is blocked. Order and exactly-once are not promised, and the
 * webhook faults make that visible on demand.
 */
import http from 'node:http';
import https from 'node:https';
import { sign } from '../../../shared/calypso/signing.js';
import type { Scheduler, SandboxClock } from './clock.js';
import type { FaultRegistry } from './faults.js';
import { webhookDate } from './ids.js';
import { toJson } from './json.js';
import type { SandboxStore, Subscription } from './store.js';
import type {
  WebhookAttemptSnapshot,
  WebhookDeliverySnapshot,
  WebhookEventSnapshot,
} from './types.js';

/** Calypso: 30 s, then Fibonacci-like growth; 19 tries over about 3.8 days. */
export const CALYPSO_RETRY_SCHEDULE_MS: readonly number[] = (() => {
  const schedule: number[] = [];
  let [a, b] = [1, 2];
  schedule.push(30_000);
  while (schedule.length < 18) {
    schedule.push(b * 30_000);
    [a, b] = [b, a + b];
  }
  return schedule;
})();

const BLOCK_AFTER_FAILURES = 100;
const BLOCK_WINDOW_MS = 10 * 60_000;
const MAX_RECORDED_RESPONSE = 2_000;

export type EventLevel = 'SUCCESS' | 'INFO' | 'WARNING';

export interface WebhookEvent {
  id: number;
  type: string;
  service: string;
  level: EventLevel;
  account: string;
  createdAt: number;
  data: Record<string, unknown>;
}

interface Delivery {
  id: number;
  event: WebhookEvent;
  subscriptionRequestId: string;
  url: string;
  body: string;
  publicKey: string;
  sign: string;
  signatureValid: boolean;
  duplicateOf: number | null;
  state: WebhookDeliverySnapshot['state'];
  attempts: WebhookAttemptSnapshot[];
}

type PostResult = Omit<WebhookAttemptSnapshot, 'at'>;

export interface WebhookDispatcherDeps {
  store: SandboxStore;
  scheduler: Scheduler;
  clock: SandboxClock;
  faults: FaultRegistry;
  retryScheduleMs: readonly number[];
  timeoutMs: number;
  /**
   * Realtime clock: POSTs in flight at once, each apart from the sandbox's own work (Calypso does
   * not wait for a receiver's answer to go on with its payouts). The manual clock sends one at a
   * time, inside `advance()`, so a test sees every delivery settled when it resolves.
   */
  concurrency: number;
}

export class WebhookDispatcher {
  private events: WebhookEvent[] = [];
  private deliveries: Delivery[] = [];
  /** Deliveries held by a reorder fault until its last event. */
  private held: Delivery[] = [];
  private nextEventId = 1;
  private nextDeliveryId = 1;
  private readonly inFlight = new Set<http.ClientRequest>();
  /** Realtime clock: deliveries due, waiting for one of the `concurrency` slots. */
  private readonly queue: Delivery[] = [];
  private sending = 0;
  /** Connections kept open between deliveries, as an HTTP client pool does. */
  private readonly httpAgent = new http.Agent({ keepAlive: true });
  private readonly httpsAgent = new https.Agent({ keepAlive: true });

  constructor(private readonly deps: WebhookDispatcherDeps) {}

  /** Raises an event for `account` and schedules its deliveries. */
  emit(
    account: string,
    type: string,
    level: EventLevel,
    data: Record<string, unknown>,
    service = 'PAYOUT',
  ): WebhookEvent {
    const event: WebhookEvent = {
      id: this.nextEventId++,
      type,
      service,
      level,
      account,
      createdAt: this.deps.clock.now(),
      data: { type, ...data },
    };
    this.events.push(event);
    const subscriptions = [...this.deps.store.subscriptions.values()].filter(
      (s) =>
        s.account === account &&
        !s.blocked &&
        (s.notificationEventTypes.includes(type) || s.notificationServiceTypes.includes(service)),
    );
    if (subscriptions.length === 0) return event;

    const plan = this.deps.faults.takeForWebhook(type);
    for (const subscription of subscriptions) {
      const original = this.newDelivery(event, subscription, plan.badSignature, null);
      const copies = [original];
      for (let i = 0; i < plan.copies; i++) {
        copies.push(this.newDelivery(event, subscription, plan.badSignature, original.id));
      }
      for (const delivery of copies) {
        if (plan.withhold) delivery.state = 'withheld';
        else if (plan.reorder) {
          delivery.state = 'held';
          this.held.push(delivery);
        } else this.schedule(delivery, plan.delayMs);
      }
    }
    if (plan.reorder?.releaseHeld) {
      const held = this.held.reverse();
      this.held = [];
      for (const delivery of held) this.schedule(delivery, plan.delayMs);
    }
    return event;
  }

  releaseWithheld(): number {
    const withheld = this.deliveries.filter((d) => d.state === 'withheld');
    for (const delivery of withheld) this.schedule(delivery, 0);
    return withheld.length;
  }

  eventSnapshots(): WebhookEventSnapshot[] {
    return this.events.map((e) => structuredClone({ ...e }));
  }

  deliverySnapshots(): WebhookDeliverySnapshot[] {
    return this.deliveries.map((d) => ({
      id: d.id,
      eventId: d.event.id,
      eventType: d.event.type,
      subscriptionRequestId: d.subscriptionRequestId,
      url: d.url,
      body: d.body,
      headers: { Key: d.publicKey, Sign: d.sign },
      signatureValid: d.signatureValid,
      duplicateOf: d.duplicateOf,
      state: d.state,
      attempts: d.attempts.map((a) => ({ ...a })),
    }));
  }

  reset(): void {
    this.events = [];
    this.deliveries = [];
    this.held = [];
    this.queue.length = 0;
  }

  /** Aborts the POSTs under way and drops those waiting to be sent. */
  close(): void {
    this.queue.length = 0;
    for (const request of this.inFlight) request.destroy(new Error('sandbox closed'));
    this.inFlight.clear();
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private newDelivery(
    event: WebhookEvent,
    subscription: Subscription,
    badSignature: boolean,
    duplicateOf: number | null,
  ): Delivery {
    const body = toJson({
      requestId: subscription.requestId,
      id: event.id,
      createdDate: webhookDate(event.createdAt),
      level: event.level,
      service: event.service,
      eventType: event.type,
      data: event.data,
    });
    const delivery: Delivery = {
      id: this.nextDeliveryId++,
      event,
      subscriptionRequestId: subscription.requestId,
      url: subscription.url,
      body,
      publicKey: subscription.publicKey,
      // A wrong signature is one made with some other secret.
      sign: sign(body, badSignature ? `not-${subscription.secretKey}` : subscription.secretKey),
      signatureValid: !badSignature,
      duplicateOf,
      state: 'scheduled',
      attempts: [],
    };
    this.deliveries.push(delivery);
    return delivery;
  }

  private schedule(delivery: Delivery, delayMs: number): void {
    if (delivery.attempts.length === 0) delivery.state = 'scheduled';
    this.deps.scheduler.after(delayMs, `webhook delivery ${delivery.id}`, () =>
      this.send(delivery),
    );
  }

  /** Manual clock: the attempt, awaited by the scheduler. Realtime: queued, sent apart. */
  private send(delivery: Delivery): Promise<void> | void {
    if (this.deps.clock.mode === 'manual') return this.attempt(delivery);
    this.queue.push(delivery);
    this.drain();
  }

  private drain(): void {
    while (this.sending < this.deps.concurrency && this.queue.length > 0) {
      const delivery = this.queue.shift()!;
      this.sending++;
      void this.attempt(delivery).finally(() => {
        this.sending--;
        this.drain();
      });
    }
  }

  private async attempt(delivery: Delivery): Promise<void> {
    const subscription = this.deps.store.subscriptions.get(delivery.subscriptionRequestId);
    if (!subscription || subscription.blocked) {
      delivery.state = 'canceled';
      return;
    }
    const at = this.deps.clock.now();
    const result = await this.post(delivery);
    delivery.attempts.push({ at, ...result });
    if (result.status === 200) {
      delivery.state = 'delivered';
      subscription.recentFailures = [];
      return;
    }
    this.noteFailure(subscription, at);
    const wait = this.deps.retryScheduleMs[delivery.attempts.length - 1];
    if (wait === undefined || subscription.blocked) {
      delivery.state = 'failed';
      return;
    }
    delivery.state = 'retrying';
    this.deps.scheduler.after(wait, `webhook redelivery ${delivery.id}`, () => this.send(delivery));
  }

  private noteFailure(subscription: Subscription, at: number): void {
    subscription.recentFailures = subscription.recentFailures.filter(
      (t) => t > at - BLOCK_WINDOW_MS,
    );
    subscription.recentFailures.push(at);
    if (subscription.recentFailures.length > BLOCK_AFTER_FAILURES) subscription.blocked = true;
  }

  private post(delivery: Delivery): Promise<PostResult> {
    return new Promise((resolve) => {
      let url: URL;
      try {
        url = new URL(delivery.url);
      } catch {
        resolve({ status: null, responseBody: null, error: 'invalid URL' });
        return;
      }
      const transport = url.protocol === 'https:' ? https : http;
      const request = transport.request(url, {
        method: 'POST',
        agent: url.protocol === 'https:' ? this.httpsAgent : this.httpAgent,
        timeout: this.deps.timeoutMs,
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(delivery.body),
          Key: delivery.publicKey,
          Sign: delivery.sign,
        },
      });
      this.inFlight.add(request);
      const finish = (result: PostResult) => {
        this.inFlight.delete(request);
        resolve(result);
      };
      request.on('timeout', () => request.destroy(new Error('timed out')));
      request.on('error', (error) =>
        finish({ status: null, responseBody: null, error: error.message }),
      );
      request.on('response', (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          if (text.length < MAX_RECORDED_RESPONSE) text += chunk;
        });
        response.on('error', (error) =>
          finish({ status: null, responseBody: null, error: error.message }),
        );
        response.on('end', () =>
          finish({
            status: response.statusCode ?? null,
            responseBody: text.slice(0, MAX_RECORDED_RESPONSE),
            error: null,
          }),
        );
      });
      request.end(delivery.body);
    });
  }
}
