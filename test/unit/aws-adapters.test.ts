import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { EVENT_SOURCE, EventBridgePublisher } from '../../shared/aws/event-bus.js';
import { lambdaSubmitTrigger } from '../../shared/aws/lambda-trigger.js';
import { withCorrelationId } from '../../shared/correlation.js';
import type { DomainEvent } from '../../shared/payouts/events.js';

const eventBridge = mockClient(EventBridgeClient);
const lambda = mockClient(LambdaClient);
afterEach(() => {
  eventBridge.reset();
  lambda.reset();
});

const event = (i: number): DomainEvent => ({
  type: 'WithdrawalStateChanged',
  payoutId: 'p',
  at: '2030-01-01T00:00:00.000Z',
  detail: { position: i, to: 'COMPLETED' },
});

describe('EventBridgePublisher', () => {
  it('sends events in calls of 10 to the bus, with our source and detail type', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    await new EventBridgePublisher(new EventBridgeClient({}), 'bus-1').publish(
      Array.from({ length: 23 }, (_, i) => event(i)),
    );
    const calls = eventBridge.commandCalls(PutEventsCommand);
    expect(calls.map((c) => c.args[0].input.Entries!.length)).toEqual([10, 10, 3]);
    const first = calls[0]!.args[0].input.Entries![0]!;
    expect(first).toMatchObject({
      EventBusName: 'bus-1',
      Source: EVENT_SOURCE,
      DetailType: 'WithdrawalStateChanged',
    });
    expect(JSON.parse(first.Detail!)).toEqual({ position: 0, to: 'COMPLETED' });
  });

  it('resends only the entries EventBridge refused, and gives up after its attempts', async () => {
    eventBridge
      .on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 1,
        Entries: [{ EventId: 'a' }, { ErrorCode: 'InternalFailure' }, { EventId: 'c' }],
      })
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'b' }] });
    await new EventBridgePublisher(new EventBridgeClient({}), 'bus').publish([
      event(0),
      event(1),
      event(2),
    ]);
    const calls = eventBridge.commandCalls(PutEventsCommand);
    expect(calls).toHaveLength(2);
    expect(JSON.parse(calls[1]!.args[0].input.Entries![0]!.Detail!).position).toBe(1);

    eventBridge.reset();
    eventBridge
      .on(PutEventsCommand)
      .resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'ThrottlingException' }] });
    await expect(
      new EventBridgePublisher(new EventBridgeClient({}), 'bus', 3).publish([event(0)]),
    ).rejects.toThrow(/refused 1/);
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(3);
  });
});

describe('correlation id', () => {
  it("is carried from the request to the submit invoke's payload", async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    await withCorrelationId('corr-7', () => lambdaSubmitTrigger('submit-fn').trigger('payout-2'));
    const input = lambda.commandCalls(InvokeCommand)[0]!.args[0].input;
    expect(JSON.parse(Buffer.from(input.Payload as Uint8Array).toString())).toEqual({
      payoutId: 'payout-2',
      correlationId: 'corr-7',
    });
  });

  it("is added to every bus event's detail, beside the event's own fields", async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    await withCorrelationId('corr-8', () =>
      new EventBridgePublisher(new EventBridgeClient({}), 'bus').publish([event(0), event(1)]),
    );
    const entries = eventBridge.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries!;
    expect(entries.map((e) => JSON.parse(e.Detail!))).toEqual([
      { position: 0, to: 'COMPLETED', correlationId: 'corr-8' },
      { position: 1, to: 'COMPLETED', correlationId: 'corr-8' },
    ]);
  });
});

describe('lambdaSubmitTrigger', () => {
  it('invokes the submit function asynchronously with the payout id', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    await lambdaSubmitTrigger('submit-fn').trigger('payout-1');
    const input = lambda.commandCalls(InvokeCommand)[0]!.args[0].input;
    expect(input).toMatchObject({ FunctionName: 'submit-fn', InvocationType: 'Event' });
    expect(JSON.parse(Buffer.from(input.Payload as Uint8Array).toString())).toEqual({
      payoutId: 'payout-1',
    });
  });
});
