/** POST /payouts/{id}/reject `{reason}`: an approver refuses the payout; nothing is sent. */
import { containerSystem } from '../shared/aws/container.js';
import { tableWriterPorts } from '../shared/aws/writer.js';
import { apiHandler } from '../shared/http/api-handler.js';
import { callerIdentity, json } from '../shared/http/middleware.js';
import { rejectPayout, type DecideDeps } from '../shared/payouts/controls.js';

export const makeHandler = (system: () => DecideDeps) =>
  apiHandler(
    async (event) => {
      const result = await rejectPayout(
        system(),
        callerIdentity(event),
        event.pathParameters?.id,
        event.parsedBody,
      );
      return json(200, result.payout);
    },
    { jsonBodyMaxBytes: () => 16_384 },
  );

export const handler = makeHandler(containerSystem(tableWriterPorts));
