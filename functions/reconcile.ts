/**
 * Run by the EventBridge schedule: submits batches still unsubmitted, looks up the batches that
 * are due, flags the stuck ones. Stops taking new work before the function's time runs out.
 */
import { trackerSystem } from '../shared/aws/tracker.js';
import { backgroundHandler } from '../shared/background-handler.js';
import { logger } from '../shared/observability.js';
import { reconcileTick, type TickSummary } from '../shared/payouts/track.js';
import { trackDeps, type System } from '../shared/system.js';

export const makeHandler = (system: () => System<'repository' | 'calypso' | 'events'>) =>
  backgroundHandler(async (_event, context): Promise<TickSummary> => {
    const built = system();
    const summary = await reconcileTick(trackDeps(built), {
      remainingMs: () => context.getRemainingTimeInMillis(),
      concurrency: built.config.reconcileConcurrency,
    });
    logger.info('reconcile tick', { ...summary });
    return summary;
  });

export const handler = makeHandler(trackerSystem());
