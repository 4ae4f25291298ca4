/**
 * POST /payouts/{id}/cancel `{reason?}`: by the owner or an approver, while nothing of the payout
 * has been sent to Calypso; afterwards 409 saying why.
 */
import { containerSystem } from '../shared/aws/container.js';
import { tableWriterPorts } from '../shared/aws/writer.js';
import { apiHandler } from '../shared/http/api-handler.js';
import { callerIdentity, json } from '../shared/http/middleware.js';
import { cancelPayout, type DecideDeps } from '../shared/payouts/controls.js';

export const makeHandler = (system: () => DecideDeps) =>
  apiHandler(
    async (event) => {
      const result = await cancelPayout(
        system(),
        callerIdentity(event),
        event.pathParameters?.id,
        event.body ? event.parsedBody : undefined,
      );
      return json(200, result.payout);
    },
    { jsonBodyMaxBytes: () => 16_384, jsonBodyOptional: true },
  );

export const handler = makeHandler(containerSystem(tableWriterPorts));
