/**
 * Runs the Calypso sandbox on its own, on the real clock, for manual use:
 *
 *   npx tsx infra/local/calypso-sandbox/main.ts [--port 8790] [--speed 10] [--seed 1]
 *
 * It answers with the documented test-vector keys (account `sandbox-account`) and prints where.
 */
import { parseArgs } from 'node:util';
import { startCalypsoSandbox, TEST_VECTOR_ACCOUNT } from './index.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.CALYPSO_SANDBOX_PORT ?? '0' },
    speed: { type: 'string', default: '1' },
    seed: { type: 'string' },
  },
});

const port = Number(values.port);
const speed = Number(values.speed);
const seed = values.seed === undefined ? undefined : Number(values.seed);
if (!Number.isInteger(port) || !(speed > 0) || (seed !== undefined && !Number.isInteger(seed))) {
  console.error('usage: main.ts [--port N] [--speed X] [--seed N]');
  process.exit(2);
}

const sandbox = await startCalypsoSandbox({ port, seed, clock: { mode: 'realtime', speed } });
console.log(
  [
    `Calypso sandbox listening on ${sandbox.url}`,
    `  API:    ${sandbox.url}${sandbox.pathPrefix}   (account ${TEST_VECTOR_ACCOUNT.account}, Key ${TEST_VECTOR_ACCOUNT.apiKey})`,
    `  admin:  ${sandbox.url}/__sandbox   (GET it for the list of endpoints)`,
    `  clock:  realtime, speed ${speed}`,
  ].join('\n'),
);

const stop = () => {
  sandbox.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
