/**
 * The CDK app (`cdk.json`: `npx tsx infra/app.ts`). Parameters come from context; see
 * the README (Deploying to AWS). cdk-nag's AWS Solutions checks run on every synth.
 */
import { App } from 'aws-cdk-lib';
import { buildApp } from './build.js';

buildApp(new App());
