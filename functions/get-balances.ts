/** GET /balances: the Calypso account's balances per currency. */
import { secretSigningCalypso } from '../shared/aws/calypso.js';
import { containerSystem } from '../shared/aws/container.js';
import { apiHandler } from '../shared/http/api-handler.js';
import { json } from '../shared/http/middleware.js';
import { getBalances } from '../shared/payouts/queries.js';
import type { System } from '../shared/system.js';

export const makeHandler = (system: () => System<'calypso'>) =>
  apiHandler(async () => json(200, await getBalances(system().calypso)));

// The only port: Calypso, signed. No table.
export const handler = makeHandler(
  containerSystem((config) => ({ calypso: secretSigningCalypso(config) })),
);
