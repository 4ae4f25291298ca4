/**
 * Publishes domain events to an EventBridge bus (PutEvents, 10 per call, failed entries retried);
 * each event's detail carries the correlation id of the work that caused it, when there is one.
 * A function that publishes events and is given no bus is misconfigured: it fails at cold start
 * rather than dropping its events.
 */
import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { ConfigError, type Config } from '../config.js';
import { currentCorrelationId } from '../correlation.js';
import type { DomainEvent, EventPublisher } from '../payouts/events.js';
import { oncePerContainer, sdkClientSettings } from './client.js';

export const EVENT_SOURCE = 'calypso-payouts';

const eventBridge = oncePerContainer(() => new EventBridgeClient(sdkClientSettings));

export class EventBridgePublisher implements EventPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
    private readonly maxAttempts = 3,
  ) {}

  async publish(events: DomainEvent[]): Promise<void> {
    const correlationId = currentCorrelationId();
    for (let i = 0; i < events.length; i += 10) {
      let entries: PutEventsRequestEntry[] = events.slice(i, i + 10).map((event) => ({
        EventBusName: this.busName,
        Source: EVENT_SOURCE,
        DetailType: event.type,
        Time: new Date(event.at),
        Resources: [],
        Detail: JSON.stringify(correlationId ? { ...event.detail, correlationId } : event.detail),
      }));
      for (let attempt = 1; entries.length > 0; attempt++) {
        const result = await this.client.send(new PutEventsCommand({ Entries: entries }));
        if (!result.FailedEntryCount) break;
        if (attempt >= this.maxAttempts) {
          throw new Error(
            `EventBridge refused ${result.FailedEntryCount} events after ${attempt} attempts`,
          );
        }
        entries = entries.filter((_, k) => result.Entries?.[k]?.ErrorCode);
      }
    }
  }
}

/** The publisher for a bus, with a client created once per container. */
export function eventBusPublisher(busName: string): EventPublisher {
  return new EventBridgePublisher(eventBridge(), busName);
}

/** The stack's bus, named by the configuration; without a name, a configuration error. */
export function stackEventBus(config: Pick<Config, 'eventBusName'>): EventPublisher {
  if (!config.eventBusName) {
    throw new ConfigError(['EVENT_BUS_NAME: required by a function that publishes events']);
  }
  return eventBusPublisher(config.eventBusName);
}
