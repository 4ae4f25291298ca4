/**
 * Stands in for @aws-sdk/credential-provider-node in the Lambda bundles (an esbuild alias, see
 * infra/bundling.ts): Lambda hands every function its role's credentials in the environment, so
 * the SSO, INI, process, STS and instance-metadata providers of the default chain are never
 * needed there, and are not bundled. Tests and the local stack use the real chain.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

export const defaultProvider = (init?: Parameters<typeof fromEnv>[0]) => fromEnv(init);
