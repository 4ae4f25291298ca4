/**
 * The emergency pause of all submission to Calypso: GET /admin/pause (its state),
 * POST /admin/pause `{reason}` and POST /admin/resume (operators only). While paused, payouts are
 * accepted and queued and what is already at Calypso is still tracked.
 */
import { eventBusPublisher } from '../shared/aws/event-bus.js';
import { apiHandler } from '../shared/http/api-handler.js';
import { callerIdentity, json } from '../shared/http/middleware.js';
import { pauseView, setPaused } from '../shared/payouts/controls.js';
import { createDeps, runtime, useAwsAdapters } from '../shared/runtime.js';

useAwsAdapters({ eventBus: eventBusPublisher });

export const handler = apiHandler(
  async (event) => {
    if (event.httpMethod === 'GET') {
      callerIdentity(event);
      return json(200, pauseView(await runtime().repository.getPause()));
    }
    const pause = event.path.endsWith('/pause');
    const result = await setPaused(
      createDeps(),
      callerIdentity(event),
      pause,
      event.body ? event.parsedBody : undefined,
    );
    return json(result.status, result.pause);
  },
  { jsonBodyMaxBytes: () => 16_384, jsonBodyOptional: true },
);
