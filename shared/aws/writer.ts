/**
 * The ports of every function that changes payouts: the table, and the stack's event bus for the
 * domain events those changes publish (a function without the bus fails at cold start).
 */
import type { Config } from '../config.js';
import type { Ports } from '../system.js';
import { tableRepository } from './dynamodb.js';
import { stackEventBus } from './event-bus.js';

export function tableWriterPorts(config: Config): Pick<Ports, 'repository' | 'events'> {
  return { repository: tableRepository(config), events: stackEventBus(config) };
}
