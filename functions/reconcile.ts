/**
 * Run by the EventBridge schedule: submits batches still unsubmitted, looks up the batches that
 * are due, flags the stuck ones. Stops taking new work before the function's time runs out.
 */
import { backgroundHandler } from '../shared/background-handler.js';
import { logger } from '../shared/observability.js';
import { reconcileTick, type TickSummary } from '../shared/payouts/track.js';
import { runtime, trackDeps, useAwsAdapters } from '../shared/runtime.js';
import { readSecret } from '../shared/aws/secrets-manager.js';
import { eventBusPublisher } from '../shared/aws/event-bus.js';

useAwsAdapters({ readSecret, eventBus: eventBusPublisher });

export const handler = backgroundHandler(async (_event, context): Promise<TickSummary> => {
  const rt = runtime();
  const summary = await reconcileTick(trackDeps(rt), {
    remainingMs: () => context.getRemainingTimeInMillis(),
    concurrency: rt.config.reconcileConcurrency,
  });
  logger.info('reconcile tick', { ...summary });
  return summary;
});
