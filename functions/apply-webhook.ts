/**
 * Async-invoked by the webhook route with `{eventId, providerKey}` once the event is stored (the
 * provider key its body names: which batch to read along with it): applies it
 * (forward only) and, for a final state, looks the batch up at once. Retried on failure, then
 * sent to the failure queue; the reconciler applies whatever stays unapplied.
 */
import * as z from 'zod/mini';
import { trackerSystem } from '../shared/aws/tracker.js';
import { backgroundHandler } from '../shared/background-handler.js';
import { logger } from '../shared/observability.js';
import { applyWebhookEvent } from '../shared/payouts/webhooks.js';
import { trackDeps, type System } from '../shared/system.js';

const eventSchema = z.object({
  eventId: z.string().check(z.minLength(1)),
  providerKey: z.optional(z.string().check(z.minLength(1))),
});

export const makeHandler = (system: () => System<'repository' | 'calypso' | 'events'>) =>
  backgroundHandler(async (event): Promise<{ eventId: string; outcome: string }> => {
    const { eventId, providerKey } = eventSchema.parse(event);
    logger.appendKeys({ eventId });
    const outcome = await applyWebhookEvent(trackDeps(system()), eventId, providerKey);
    return { eventId, outcome };
  });

export const handler = makeHandler(trackerSystem());
