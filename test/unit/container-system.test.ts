/** A Lambda function's system: its configuration checked once, and only the ports it asks for. */
import { describe, expect, it } from 'vitest';
import { containerSystem } from '../../shared/aws/container.js';
import { EventBridgePublisher } from '../../shared/aws/event-bus.js';
import { tableRepository } from '../../shared/aws/dynamodb.js';
import { tableWriterPorts } from '../../shared/aws/writer.js';
import { ConfigError } from '../../shared/config.js';
import { systemClock } from '../../shared/payouts/ports.js';
import { PayoutRepository } from '../../shared/store/payout-repository.js';

const ENV = { TABLE_NAME: 'payouts', CALYPSO_BASE_URL: 'https://api.calypso.finance' };

describe('containerSystem', () => {
  it('reads the configuration on first use, once, with only the ports it is given', () => {
    let builds = 0;
    const system = containerSystem((config) => {
      builds++;
      return { repository: tableRepository(config) };
    }, ENV);
    expect(builds).toBe(0);
    const first = system();
    expect(system()).toBe(first);
    expect(builds).toBe(1);
    expect(first.repository).toBeInstanceOf(PayoutRepository);
    expect(first.config.tableName).toBe('payouts');
    expect(first.clock).toBe(systemClock);
    expect(Object.keys(first).sort()).toEqual([
      'access',
      'clock',
      'config',
      'policy',
      'repository',
    ]);
  });

  it('builds at once in Lambda, so a configuration error fails the cold start', () => {
    const lambda = { ...ENV, AWS_LAMBDA_FUNCTION_NAME: 'cancel-payout' };
    expect(() => containerSystem(tableWriterPorts, lambda)).toThrow(ConfigError);
    expect(() => containerSystem(tableWriterPorts, lambda)).toThrow(/EVENT_BUS_NAME/);
    expect(() => containerSystem(tableWriterPorts, { ...lambda, TABLE_NAME: '' })).toThrow(
      /TABLE_NAME/,
    );
  });

  it('gives a function that publishes events the bus, never a silent drop', () => {
    expect(() => containerSystem(tableWriterPorts, ENV)()).toThrow(/EVENT_BUS_NAME/);
    const system = containerSystem(tableWriterPorts, { ...ENV, EVENT_BUS_NAME: 'payouts-bus' })();
    expect(system.events).toBeInstanceOf(EventBridgePublisher);
  });

  it('needs no bus for a function that only reads', () => {
    const lambda = { ...ENV, AWS_LAMBDA_FUNCTION_NAME: 'get-payout' };
    const system = containerSystem((config) => ({ repository: tableRepository(config) }), lambda);
    expect(system().repository).toBeInstanceOf(PayoutRepository);
  });
});
