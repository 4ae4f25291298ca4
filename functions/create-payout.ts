/** POST /payouts: validate, store under the caller's Idempotency-Key, hand to submission. */
import { balancesCalypso } from '../shared/aws/balances-function.js';
import { containerSystem } from '../shared/aws/container.js';
import { submitTriggerOf } from '../shared/aws/lambda-trigger.js';
import { tableWriterPorts } from '../shared/aws/writer.js';
import { apiHandler } from '../shared/http/api-handler.js';
import { callerIdentity, header, json } from '../shared/http/middleware.js';
import { createPayout } from '../shared/payouts/create-payout.js';
import { createDeps, type System } from '../shared/system.js';

export const makeHandler = (
  system: () => System<'repository' | 'events' | 'trigger' | 'calypso'>,
) =>
  apiHandler(
    async (event) => {
      const result = await createPayout(createDeps(system()), {
        caller: callerIdentity(event),
        idempotencyKey: header(event, 'idempotency-key'),
        body: event.parsedBody,
        dryRun: event.queryStringParameters?.dryRun === 'true',
      });
      if ('dryRun' in result) return json(200, result.dryRun);
      return json(result.created ? 202 : 200, result.payout, {
        location: `/payouts/${result.payout.id}`,
      });
    },
    { jsonBodyMaxBytes: () => system().config.maxBodyBytes },
  );

// No signing key here: the dry run reads the balance through the get-balances function.
export const handler = makeHandler(
  containerSystem((config) => ({
    ...tableWriterPorts(config),
    trigger: submitTriggerOf(config),
    calypso: balancesCalypso(config),
  })),
);
