/** GET /balances: the Calypso account's balances per currency. */
import { apiHandler } from '../shared/http/api-handler.js';
import { json } from '../shared/http/middleware.js';
import { getBalances } from '../shared/payouts/queries.js';
import { runtime, useAwsAdapters } from '../shared/runtime.js';
import { readSecret } from '../shared/aws/secrets-manager.js';

useAwsAdapters({ readSecret });

export const handler = apiHandler(async () => json(200, await getBalances(runtime().calypso)));
