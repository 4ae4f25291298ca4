/**
 * `npm start`: the whole system on this machine. Until every part exists, it says what is missing.
 */
console.error(
  [
    'The one-command local stack is not assembled yet.',
    'Present: DynamoDB Local launcher (infra/local/dynamodb-local.ts).',
    'Missing: the Calypso sandbox, the HTTP front for the handlers, the reconciler timer.',
    'Run the tests with: npm test',
  ].join('\n'),
);
process.exitCode = 1;
