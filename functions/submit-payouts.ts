/**
 * Async-invoked after a payout is accepted, with `{payoutId, correlationId?}`: submits its
 * batches to Calypso. Failures here are safe to lose: the reconciler submits whatever stays
 * unsubmitted.
 */
import * as z from 'zod/mini';
import { trackerSystem } from '../shared/aws/tracker.js';
import { backgroundHandler } from '../shared/background-handler.js';
import { logger } from '../shared/observability.js';
import { submitPayout } from '../shared/payouts/submit.js';
import { trackDeps, type System } from '../shared/system.js';

const eventSchema = z.object({ payoutId: z.string().check(z.minLength(1)) });

export const makeHandler = (system: () => System<'repository' | 'calypso' | 'events'>) =>
  backgroundHandler(
    async (event): Promise<{ payoutId: string; outcomes: Record<string, string> }> => {
      const { payoutId } = eventSchema.parse(event);
      logger.appendKeys({ payoutId });
      const outcomes = await submitPayout(trackDeps(system()), payoutId);
      const summary = Object.fromEntries(
        [...outcomes].map(([index, outcome]) => [String(index), outcome]),
      );
      logger.info('submission finished', { outcomes: summary });
      return { payoutId, outcomes: summary };
    },
  );

export const handler = makeHandler(trackerSystem());
