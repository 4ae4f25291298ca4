/**
 * Builds the app's one stack from CDK context and applies the cdk-nag AWS Solutions checks:
 * `infra/app.ts` runs this for `cdk synth`/`deploy`, the tests run it on their own App.
 */
import { Tags, Validations, type App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readSettings } from './settings.js';
import { PayoutsStack } from './stack.js';

export function buildApp(app: App): PayoutsStack {
  const settings = readSettings((key) => app.node.tryGetContext(key));
  // Environment from context or the CLI's defaults only: synth never looks anything up.
  const account = contextString(app, 'account') ?? process.env.CDK_DEFAULT_ACCOUNT;
  const region = contextString(app, 'region') ?? process.env.CDK_DEFAULT_REGION;
  const stack = new PayoutsStack(app, `CalypsoPayouts-${settings.stage}`, {
    settings,
    description: `Calypso mass payouts (${settings.stage})`,
    ...(account || region
      ? { env: { ...(account ? { account } : {}), ...(region ? { region } : {}) } }
      : {}),
  });
  Tags.of(stack).add('service', 'calypso-payouts');
  Tags.of(stack).add('stage', settings.stage);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}

function contextString(app: App, key: string): string | undefined {
  const value: unknown = app.node.tryGetContext(key);
  return typeof value === 'string' && value !== '' ? value : undefined;
}
