/** Values the global setup hands to every test file through `inject()`. */
import 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** DynamoDB Local for this test run, e.g. http://127.0.0.1:41234 */
    dynamoEndpoint: string;
  }
}
