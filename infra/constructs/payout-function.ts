/**
 * One Lambda function per handler file: bundled with esbuild (ESM, minified, source maps, AWS SDK
 * included but for its default credential chain: see infra/bundling.ts), arm64, traced, with its own log group and its own role holding only what its
 * access entry names.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing, type IFunction } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { join } from 'node:path';
import { TABLE } from '../../shared/store/table.js';
import { BUNDLE_ALIASES, REQUIRE_BANNER } from '../bundling.js';
import { PROJECT_ROOT, handlerEntry, type FunctionSpec } from '../functions.js';

/** The newest Node.js runtime this aws-cdk-lib knows (cdk-nag's AwsSolutions-L1 wants it). */
export const FUNCTION_RUNTIME = Runtime.NODEJS_24_X;

export interface PayoutFunctionResources {
  table: ITable;
  /** The Calypso API signing key. */
  signingSecret: ISecret;
  /** The webhook subscriptions' keys. */
  webhookSecret: ISecret;
  eventBus: IEventBus;
  /** The submit function, for handlers that hand a payout to submission; absent while building it. */
  submitFunction?: IFunction;
  /** The get-balances function, for handlers that read balances without the signing key. */
  balancesFunction?: IFunction;
  /** The apply-webhook function, for the webhook route. */
  applyFunction?: IFunction;
}

export interface PayoutFunctionProps {
  handler: string;
  spec: FunctionSpec;
  description: string;
  /** Environment shared by every function (table, Calypso endpoint, limits, ...). */
  environment: Record<string, string>;
  resources: PayoutFunctionResources;
  logRetention: RetentionDays;
}

export class PayoutFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: PayoutFunctionProps) {
    super(scope, id);
    const { spec, resources } = props;
    const access = spec.access;

    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs functions/${props.handler}.ts`,
    });
    this.logGroup.grantWrite(this.role);

    const environment: Record<string, string> = {
      ...props.environment,
      NODE_OPTIONS: '--enable-source-maps',
    };
    if (access.invokeSubmit) {
      if (!resources.submitFunction) throw new Error(`${props.handler} needs the submit function`);
      environment.SUBMIT_FUNCTION_NAME = resources.submitFunction.functionName;
    }
    if (access.invokeApply) {
      if (!resources.applyFunction) throw new Error(`${props.handler} needs the apply function`);
      environment.APPLY_WEBHOOK_FUNCTION_NAME = resources.applyFunction.functionName;
    }
    if (access.invokeBalances) {
      if (!resources.balancesFunction) {
        throw new Error(`${props.handler} needs the get-balances function`);
      }
      environment.BALANCES_FUNCTION_NAME = resources.balancesFunction.functionName;
    }
    if (access.publishEvents) environment.EVENT_BUS_NAME = resources.eventBus.eventBusName;
    // A secret's ARN only where its value may be read: the name of what a function cannot open
    // would only invite a confusing AccessDenied.
    if (access.signingKey) environment.CALYPSO_SECRET_ARN = resources.signingSecret.secretArn;
    if (access.webhookKeys) {
      environment.CALYPSO_WEBHOOK_SECRET_ARN = resources.webhookSecret.secretArn;
    }

    this.function = new NodejsFunction(this, 'Function', {
      entry: handlerEntry(props.handler),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      description: props.description,
      runtime: FUNCTION_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: spec.memoryMb,
      timeout: Duration.seconds(spec.timeoutSeconds),
      tracing: Tracing.ACTIVE,
      role: this.role,
      logGroup: this.logGroup,
      environment,
      bundling: {
        format: OutputFormat.ESM,
        mainFields: ['module', 'main'],
        banner: REQUIRE_BANNER,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        externalModules: [],
        // esbuild runs in the project root, where the aliases' relative paths start.
        esbuildArgs: Object.fromEntries(
          Object.entries(BUNDLE_ALIASES).map(([from, to]) => [`--alias:${from}`, to]),
        ),
      },
    });

    if (access.table.length > 0) {
      this.role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: access.table.map((action) => `dynamodb:${action}`),
          resources: [resources.table.tableArn],
        }),
      );
    }
    if (access.indexes.length > 0) {
      this.role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['dynamodb:Query'],
          resources: access.indexes.map(
            (index) => `${resources.table.tableArn}/index/${TABLE.indexes[index].name}`,
          ),
        }),
      );
    }
    for (const [granted, secret] of [
      [access.signingKey, resources.signingSecret],
      [access.webhookKeys, resources.webhookSecret],
    ] as const) {
      if (granted) {
        this.role.addToPrincipalPolicy(
          new PolicyStatement({
            actions: ['secretsmanager:GetSecretValue'],
            resources: [secret.secretArn],
          }),
        );
      }
    }
    if (access.invokeSubmit && resources.submitFunction) {
      this.role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['lambda:InvokeFunction'],
          resources: [resources.submitFunction.functionArn],
        }),
      );
    }
    if (access.invokeApply && resources.applyFunction) {
      this.role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['lambda:InvokeFunction'],
          resources: [resources.applyFunction.functionArn],
        }),
      );
    }
    if (access.invokeBalances && resources.balancesFunction) {
      this.role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['lambda:InvokeFunction'],
          resources: [resources.balancesFunction.functionArn],
        }),
      );
    }
    if (access.publishEvents) {
      this.role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['events:PutEvents'],
          resources: [resources.eventBus.eventBusArn],
        }),
      );
    }

    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions.',
    });
  }
}
