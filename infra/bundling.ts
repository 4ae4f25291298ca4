/**
 * How every Lambda handler is bundled, in one place: the CDK stack (PayoutFunction) and the
 * cold-start benchmark use these same esbuild settings.
 */

/**
 * ESM bundles have no `require`; some bundled CommonJS dependencies call it for Node built-ins.
 * The alias keeps the name free for bundled code that declares its own `createRequire`.
 */
export const REQUIRE_BANNER =
  "import { createRequire as __bundleCreateRequire } from 'node:module'; const require = __bundleCreateRequire(import.meta.url);";

/**
 * Module replacements, relative to the project root: the SDK's default credential chain becomes
 * Lambda's environment credentials only (shared/aws/lambda-credentials.ts).
 */
export const BUNDLE_ALIASES: Record<string, string> = {
  '@aws-sdk/credential-provider-node': './shared/aws/lambda-credentials.ts',
};
