/**
 * The emergency pause of all submission to Calypso: GET /admin/pause (its state),
 * POST /admin/pause `{reason}` and POST /admin/resume (operators only). While paused, payouts are
 * accepted and queued and what is already at Calypso is still tracked.
 */
import { containerSystem } from '../shared/aws/container.js';
import { tableWriterPorts } from '../shared/aws/writer.js';
import { apiHandler } from '../shared/http/api-handler.js';
import { callerIdentity, json } from '../shared/http/middleware.js';
import { pauseView, setPaused, type DecideDeps } from '../shared/payouts/controls.js';

export const makeHandler = (system: () => DecideDeps) =>
  apiHandler(
    async (event) => {
      if (event.httpMethod === 'GET') {
        callerIdentity(event);
        return json(200, pauseView(await system().repository.getPause()));
      }
      const pause = event.path.endsWith('/pause');
      const result = await setPaused(
        system(),
        callerIdentity(event),
        pause,
        event.body ? event.parsedBody : undefined,
      );
      return json(200, result.pause);
    },
    { jsonBodyMaxBytes: () => 16_384, jsonBodyOptional: true },
  );

export const handler = makeHandler(containerSystem(tableWriterPorts));
