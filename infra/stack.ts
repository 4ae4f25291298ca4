/**
 * The whole service in one stack: the table, the Calypso secrets (the API signing key, and apart
 * from it the webhook keys), one function per handler, the API built from ROUTES with WAF in
 * front of its webhook, async submission with a failure queue, the reconciler's schedule, the
 * domain-event bus, and the alarms.
 */
import {
  Annotations,
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  Validations,
  type StackProps,
} from 'aws-cdk-lib';
import {
  AttributeType,
  BillingMode,
  ProjectionType,
  Table,
  TableEncryption,
  type Attribute,
} from 'aws-cdk-lib/aws-dynamodb';
import { Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { EventBus, Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { FilterPattern, MetricFilter, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import type { Construct } from 'constructs';
import { SERVICE_DEFAULTS } from '../shared/defaults.js';
import { TABLE, createTableInput } from '../shared/store/table.js';
import { ALARM_PERIOD, Alarms, customMetric } from './constructs/alarms.js';
import { OpsDashboard } from './constructs/dashboard.js';
import { PayoutFunction, type PayoutFunctionResources } from './constructs/payout-function.js';
import { PayoutsApi } from './constructs/payouts-api.js';
import { WEBHOOK_RULES, WebhookFirewall } from './constructs/webhook-firewall.js';
import {
  BACKGROUND_FUNCTIONS,
  BALANCES_HANDLER,
  functionSpec,
  hasSpec,
  type BackgroundFunction,
} from './functions.js';
import { METRICS_NAMESPACE, METRIC_NAMES, SERVICE_DIMENSION } from './metric-names.js';
import { OPENAPI_FILE } from './openapi.js';
import { ROUTES, type Route } from './routes.js';
import type { StackSettings } from './settings.js';

/** The signing secret's JSON shape; the placeholder has a generated secretKey and must be replaced. */
export const SECRET_SHAPE = '{"apiKey": "...", "secretKey": "...", "account": "..."}';

/** The webhook secret's JSON shape; several keys during a rotation, none until registered. */
export const WEBHOOK_SECRET_SHAPE = '{"webhookKeys": [{"publicKey": "...", "secretKey": "..."}]}';

/** Rejected webhook signatures in one alarm period that count as an attack or a key mix-up. */
export const WEBHOOK_REJECTIONS_ALARM_AT = 10;

/**
 * Webhook 4XX answers in one 5-minute alarm period worth waking someone for: Calypso blocks the
 * subscription after more than 100 failed deliveries in 10 minutes without a success.
 */
export const WEBHOOK_4XX_ALARM_AT = 25;

/** Webhook requests throttled (429) or blocked by WAF in one alarm period. */
export const WEBHOOK_THROTTLED_ALARM_AT = 10;

/**
 * Failed batch submission attempts in one 5-minute alarm period: one is a blip the next attempt
 * absorbs; three mean submission is failing (credentials, funds, Calypso down).
 */
export const SUBMISSION_FAILURES_ALARM_AT = 3;

/** Failed Calypso calls (after the client's own retries) in one 5-minute alarm period. */
export const CALYPSO_ERRORS_ALARM_AT = 5;

/** Counted from the API access logs: 429 answers on the webhook route. */
export const WEBHOOK_THROTTLED_METRIC = 'WebhookThrottled';

export const LOG_RETENTION = RetentionDays.THREE_MONTHS;

export interface PayoutsStackProps extends StackProps {
  settings: StackSettings;
  /** The API routes; ROUTES by default. */
  routes?: readonly Route[];
  /** Functions outside the API; BACKGROUND_FUNCTIONS by default. */
  backgroundFunctions?: readonly BackgroundFunction[];
}

export class PayoutsStack extends Stack {
  readonly table: Table;
  /** The Calypso API signing key: only the functions that call Calypso read it. */
  readonly secret: Secret;
  /** The webhook subscriptions' keys: only the webhook function reads them. */
  readonly webhookSecret: Secret;
  readonly eventBus: EventBus;
  readonly api: PayoutsApi;
  readonly firewall: WebhookFirewall;
  readonly alarms: Alarms;
  readonly submitFailures: Queue;
  readonly dashboard: OpsDashboard;
  /** Webhook events whose apply failed after its retries (the reconciler applies them). */
  readonly applyFailures: Queue;
  /** Every function, by handler name. */
  readonly functions = new Map<string, PayoutFunction>();

  constructor(scope: Construct, id: string, props: PayoutsStackProps) {
    super(scope, id, props);
    const { settings } = props;
    const routes = props.routes ?? ROUTES;
    const background = props.backgroundFunctions ?? BACKGROUND_FUNCTIONS;
    const serviceName = `calypso-payouts-${settings.stage}`;

    this.table = payoutTable(this, settings.deferIndexes);

    this.secret = new Secret(this, 'CalypsoCredentials', {
      description: `Calypso API signing key for ${serviceName}. JSON: ${SECRET_SHAPE}`,
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ apiKey: 'REPLACE_ME', account: 'REPLACE_ME' }),
        generateStringKey: 'secretKey',
        excludePunctuation: true,
      },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Apart from the signing key, so the webhook (a public route) cannot read what signs payouts.
    this.webhookSecret = new Secret(this, 'CalypsoWebhookKeys', {
      description: `Calypso webhook subscription keys for ${serviceName}. JSON: ${WEBHOOK_SECRET_SHAPE}`,
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ webhookKeys: [] }),
        // Secrets Manager generates one field; the functions ignore it.
        generateStringKey: 'unused',
        excludePunctuation: true,
        passwordLength: 8,
      },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const secret of [this.secret, this.webhookSecret]) {
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'Calypso issues these keys in its own UI; they are rotated there, then put here by hand.',
      });
    }

    this.eventBus = new EventBus(this, 'DomainEvents', {
      eventBusName: serviceName,
      description: 'PayoutStateChanged and WithdrawalStateChanged events',
    });

    const environment: Record<string, string> = {
      POWERTOOLS_SERVICE_NAME: serviceName,
      TABLE_NAME: this.table.tableName,
      CALYPSO_BASE_URL: settings.calypsoBaseUrl,
      CALYPSO_PATH_PREFIX: settings.calypsoPathPrefix,
      ...(settings.calypsoWithdrawalsPath
        ? { CALYPSO_WITHDRAWALS_PATH: settings.calypsoWithdrawalsPath }
        : {}),
      ...(settings.currencyOverrides ? { CURRENCY_OVERRIDES: settings.currencyOverrides } : {}),
      ...(settings.payoutPolicy ? { PAYOUT_POLICY: settings.payoutPolicy } : {}),
      ...(settings.teams ? { TEAMS: settings.teams } : {}),
      ...(settings.auditors ? { AUDITORS: settings.auditors } : {}),
      ...settings.functionSettings,
      MAX_BODY_BYTES: String(SERVICE_DEFAULTS.maxBodyBytes),
      SUBMISSION_LEASE_MS: String(SERVICE_DEFAULTS.submissionLeaseMs),
    };
    const resources: PayoutFunctionResources = {
      table: this.table,
      signingSecret: this.secret,
      webhookSecret: this.webhookSecret,
      eventBus: this.eventBus,
    };
    const build = (handler: string, description: string, method?: Route['method']) => {
      const spec = functionSpec(handler, method);
      if (spec.timeoutSeconds * 1000 >= SERVICE_DEFAULTS.submissionLeaseMs) {
        throw new Error(`${handler}: timeout must stay below the submission lease`);
      }
      const fn = new PayoutFunction(this, pascal(handler), {
        handler,
        spec,
        description,
        environment,
        resources,
        logRetention: LOG_RETENTION,
      });
      if (!hasSpec(handler)) {
        Annotations.of(fn).addWarningV2(
          'calypso-payouts:default-function-spec',
          `functions/${handler}.ts has no entry in infra/functions.ts: deployed with the ${method ?? ''} default (table ${spec.access.table.join(', ')}; no secret, invoke or events)`,
        );
      }
      this.functions.set(handler, fn);
      return fn;
    };

    // Submission first: the functions that hand payouts to it need its name.
    this.submitFailures = this.submitFailureQueue();
    for (const entry of background.filter((b) => b.trigger === 'submit')) {
      const submit = build(entry.handler, `Submits a payout's batches to Calypso (async)`);
      submit.function.configureAsyncInvoke({
        retryAttempts: 2,
        maxEventAge: Duration.hours(1),
        onFailure: new SqsDestination(this.submitFailures),
      });
      resources.submitFunction = submit.function;
    }

    // The apply function before the webhook route that hands it stored events. An async invoke
    // rather than a table stream: the webhook answers after one write, the invoke carries retries
    // and a failure queue like submission's, and no stream of every item of the table is needed.
    this.applyFailures = this.failureQueue('ApplyWebhookFailures');
    for (const entry of background.filter((b) => b.trigger === 'apply')) {
      const apply = build(entry.handler, 'Applies a stored Calypso webhook event (async)');
      apply.function.configureAsyncInvoke({
        retryAttempts: 2,
        maxEventAge: Duration.hours(1),
        onFailure: new SqsDestination(this.applyFailures),
      });
      resources.applyFunction = apply.function;
    }

    // Then the functions others read balances through, before those that need their name.
    const needsBalances = (route: Route) =>
      functionSpec(route.handler, route.method).access.invokeBalances;
    for (const route of [
      ...routes.filter((r) => !needsBalances(r)),
      ...routes.filter(needsBalances),
    ]) {
      if (!this.functions.has(route.handler)) {
        if (needsBalances(route))
          resources.balancesFunction = this.functions.get(BALANCES_HANDLER)?.function;
        build(route.handler, `${route.method} ${route.path}`, route.method);
      }
    }

    for (const entry of background.filter((b) => b.trigger === 'schedule')) {
      const fn = build(entry.handler, `Runs every ${settings.reconcileRateMinutes} min`);
      const everyTick = Duration.minutes(settings.reconcileRateMinutes);
      // A failed tick is not retried: the next tick does the same work.
      fn.function.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: everyTick });
      new Rule(this, `${pascal(entry.handler)}Schedule`, {
        description: `Runs ${entry.handler} every ${settings.reconcileRateMinutes} min`,
        schedule: Schedule.rate(everyTick),
        // Retries of EventBridge's own delivery (e.g. a throttled invoke), not of the function.
        targets: [new LambdaFunction(fn.function, { retryAttempts: 2 })],
      });
    }

    this.api = new PayoutsApi(this, 'Http', {
      stage: settings.stage,
      routes,
      functionFor: (handler) => this.functionOf(handler),
      throttle: settings.throttle,
      unauthenticatedThrottle: settings.webhook.throttle,
      logRetention: LOG_RETENTION,
    });
    const webhookRoute = routes.find((r) => r.auth === 'none');
    this.firewall = new WebhookFirewall(this, 'WebhookFirewall', {
      serviceName,
      stageArn: this.api.api.deploymentStage.stageArn,
      webhookPath: webhookRoute?.path ?? '/webhooks/calypso',
      rateLimit: settings.webhook.wafRateLimit,
      allowedCidrs: settings.webhook.allowedCidrs,
    });

    this.alarms = new Alarms(this, 'Alarms', {
      stage: settings.stage,
      ...(settings.alarmEmail ? { alarmEmail: settings.alarmEmail } : {}),
    });
    this.addAlarms(
      serviceName,
      background,
      settings.reconcileRateMinutes,
      settings.fundsAlarmAfterMinutes,
    );
    if (webhookRoute) {
      const allowList = settings.webhook.allowedCidrs.length > 0;
      this.addWebhookAlarms(serviceName, settings.stage, webhookRoute, allowList);
    }

    this.dashboard = new OpsDashboard(this, 'Operations', {
      serviceName,
      api: this.api.api,
      functions: new Map([...this.functions].map(([handler, fn]) => [handler, fn.function])),
      reconciler: background
        .filter((b) => b.trigger === 'schedule')
        .map((b) => this.functions.get(b.handler)?.function)
        .find((fn) => fn !== undefined),
      webhookThrottledMetric: WEBHOOK_THROTTLED_METRIC,
      thresholds: {
        submissionFailures: SUBMISSION_FAILURES_ALARM_AT,
        calypsoErrors: CALYPSO_ERRORS_ALARM_AT,
      },
    });

    new CfnOutput(this, 'ApiUrl', {
      description: 'Base URL of the internal API (IAM SigV4, service execute-api)',
      value: this.api.api.url,
    });
    if (webhookRoute) {
      new CfnOutput(this, 'WebhookUrl', {
        description: 'Register this URL with Calypso (notificationServiceTypes: ["PAYOUT"])',
        value: this.api.api.urlForPath(webhookRoute.path),
      });
    }
    new CfnOutput(this, 'CalypsoSecretArn', {
      description: `Put the Calypso API keys here as JSON: ${SECRET_SHAPE}`,
      value: this.secret.secretArn,
    });
    new CfnOutput(this, 'CalypsoWebhookSecretArn', {
      description: `Put the webhook subscription keys here as JSON: ${WEBHOOK_SECRET_SHAPE}`,
      value: this.webhookSecret.secretArn,
    });
    const contract = new Asset(this, 'OpenApiDocument', { path: OPENAPI_FILE });
    new CfnOutput(this, 'OpenApiUrl', {
      description: "The API's OpenAPI 3.1 document (openapi.json), in the CDK assets bucket",
      value: contract.s3ObjectUrl,
    });
    new CfnOutput(this, 'TableName', { value: this.table.tableName });
    new CfnOutput(this, 'EventBusName', { value: this.eventBus.eventBusName });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarms.topic.topicArn });
    new CfnOutput(this, 'SubmitFailureQueueUrl', { value: this.submitFailures.queueUrl });
  }

  functionOf(handler: string): IFunction {
    const fn = this.functions.get(handler);
    if (!fn) throw new Error(`no function for handler ${handler}`);
    return fn.function;
  }

  /**
   * Where async submissions land after their retries. Nothing is lost if one does (the
   * reconciler submits what stays unsubmitted), but a message here means something is wrong.
   */
  private submitFailureQueue(): Queue {
    const overflow = new Queue(this, 'SubmitFailuresDeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    return new Queue(this, 'SubmitFailures', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      deadLetterQueue: { queue: overflow, maxReceiveCount: 5 },
    });
  }

  /** Where failed async applies of webhook events land (nothing is lost: they stay stored). */
  private failureQueue(id: string): Queue {
    const overflow = new Queue(this, `${id}DeadLetters`, {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    return new Queue(this, id, {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      deadLetterQueue: { queue: overflow, maxReceiveCount: 5 },
    });
  }

  private addAlarms(
    serviceName: string,
    background: readonly BackgroundFunction[],
    reconcileRateMinutes: number,
    fundsAlarmAfterMinutes: number,
  ) {
    const alarms = this.alarms;
    for (const [handler, fn] of this.functions) {
      const name = pascal(handler);
      alarms.add(`${name}Errors`, {
        metric: fn.function.metricErrors({ period: ALARM_PERIOD, statistic: 'Sum' }),
        atLeast: 1,
        description: `functions/${handler}.ts failed (uncaught error or timeout); see its logs`,
      });
      alarms.add(`${name}Throttles`, {
        metric: fn.function.metricThrottles({ period: ALARM_PERIOD, statistic: 'Sum' }),
        atLeast: 1,
        description: `functions/${handler}.ts was throttled: account or reserved concurrency exhausted`,
      });
    }

    alarms.add('SubmitFailuresWaiting', {
      metric: this.submitFailures.metricApproximateNumberOfMessagesVisible({
        period: ALARM_PERIOD,
        statistic: 'Maximum',
      }),
      atLeast: 1,
      description:
        'A payout submission failed after its retries; the reconciler will submit it. Find out why.',
    });
    alarms.add('ApplyWebhookFailuresWaiting', {
      metric: this.applyFailures.metricApproximateNumberOfMessagesVisible({
        period: ALARM_PERIOD,
        statistic: 'Maximum',
      }),
      atLeast: 1,
      description:
        'Applying a stored webhook event failed after its retries; the reconciler will apply it. Find out why.',
    });
    const overflow = this.submitFailures.deadLetterQueue?.queue;
    if (overflow) {
      alarms.add('SubmitFailuresDeadLetters', {
        metric: overflow.metricApproximateNumberOfMessagesVisible({
          period: ALARM_PERIOD,
          statistic: 'Maximum',
        }),
        atLeast: 1,
        description: 'Failure records were received 5 times without being deleted',
      });
    }

    alarms.add('Api5xx', {
      metric: this.api.api.metricServerError({ period: ALARM_PERIOD, statistic: 'Sum' }),
      atLeast: 1,
      description: 'The API answered 5xx: our fault (see the correlation id in the function logs)',
    });

    const dimensions = { [SERVICE_DIMENSION]: serviceName };
    alarms.add('StuckBatches', {
      metric: customMetric(METRICS_NAMESPACE, METRIC_NAMES.stuckBatches, dimensions, 'Maximum'),
      atLeast: 1,
      description: 'A batch made no progress past the stuck threshold: check it at Calypso',
    });
    alarms.add('WebhookSignatureRejected', {
      metric: customMetric(
        METRICS_NAMESPACE,
        METRIC_NAMES.webhookSignatureRejected,
        dimensions,
        'Sum',
      ),
      atLeast: WEBHOOK_REJECTIONS_ALARM_AT,
      description:
        'Many webhook deliveries failed signature checks: forged calls, or webhookKeys in the webhook secret out of date',
    });

    alarms.add('RetryDisagreements', {
      metric: customMetric(METRICS_NAMESPACE, METRIC_NAMES.retryDisagreements, dimensions, 'Sum'),
      atLeast: 1,
      description:
        'A payment recorded FAILED was not FAILED at Calypso when a retry re-read it: it may have been paid; see the payout events',
    });

    alarms.add('SubmissionPaused', {
      metric: customMetric(
        METRICS_NAMESPACE,
        METRIC_NAMES.submissionPausedMinutes,
        dimensions,
        'Maximum',
      ),
      atLeast: 60,
      description:
        'Submission to Calypso has been paused for more than an hour: payouts are queued, nothing is sent (POST /admin/resume)',
    });
    alarms.add('AwaitingFunds', {
      metric: customMetric(METRICS_NAMESPACE, METRIC_NAMES.fundsWaitMinutes, dimensions, 'Maximum'),
      atLeast: fundsAlarmAfterMinutes,
      description: `A batch has waited ${fundsAlarmAfterMinutes} min or more for funds: nothing of it is sent until the account is topped up (the payout view shows the shortfall)`,
    });
    alarms.add('BatchesUnfunded', {
      metric: customMetric(METRICS_NAMESPACE, METRIC_NAMES.batchesUnfunded, dimensions, 'Sum'),
      atLeast: 1,
      description:
        'A batch ended UNFUNDED: its funds did not come within FUNDS_WAIT_MAX, nothing was sent, its payments are FAILED (retry-failed once funded)',
    });
    alarms.add('RejectedButFound', {
      metric: customMetric(METRICS_NAMESPACE, METRIC_NAMES.rejectedButFound, dimensions, 'Sum'),
      atLeast: 1,
      description:
        'Calypso holds a payout we had recorded as REJECTED (now adopted and tracked): check why it was taken for a refusal',
    });

    alarms.add('SubmissionFailures', {
      metric: customMetric(METRICS_NAMESPACE, METRIC_NAMES.submissionFailures, dimensions, 'Sum'),
      atLeast: SUBMISSION_FAILURES_ALARM_AT,
      description: `Batch submissions to Calypso failed ${SUBMISSION_FAILURES_ALARM_AT} times or more in 5 minutes: see the submit and reconcile logs (RUNBOOK.md)`,
    });
    alarms.add('CalypsoErrors', {
      metric: customMetric(METRICS_NAMESPACE, METRIC_NAMES.calypsoErrors, dimensions, 'Sum'),
      atLeast: CALYPSO_ERRORS_ALARM_AT,
      description: `Calls to Calypso failed ${CALYPSO_ERRORS_ALARM_AT} times or more in 5 minutes (after retries): Calypso down, credentials, or our requests (RUNBOOK.md)`,
    });

    // The reconciler is the safety net: alarm when it stops running at all.
    for (const entry of background.filter((b) => b.trigger === 'schedule')) {
      const fn = this.functions.get(entry.handler);
      if (!fn) continue;
      const period = Duration.minutes(Math.max(15, 3 * reconcileRateMinutes));
      alarms.add(`${pascal(entry.handler)}NotRunning`, {
        metric: fn.function.metricInvocations({ period, statistic: 'Sum' }),
        below: 1,
        description: `functions/${entry.handler}.ts did not run for ${period.toMinutes()} min`,
      });
    }
  }

  /**
   * The webhook under a flood or refusing Calypso: its 4XX answers (bad signatures, WAF, 429),
   * its 429s (counted from the access logs), and WAF's blocks. Calypso blocks the subscription
   * after more than 100 failed deliveries in 10 minutes without a success.
   */
  private addWebhookAlarms(serviceName: string, stage: string, route: Route, allowList: boolean) {
    const alarms = this.alarms;
    alarms.add('Webhook4xx', {
      metric: new Metric({
        namespace: 'AWS/ApiGateway',
        metricName: '4XXError',
        dimensionsMap: {
          ApiName: this.api.api.restApiName,
          Stage: stage,
          Resource: route.path,
          Method: route.method,
        },
        statistic: 'Sum',
        period: ALARM_PERIOD,
      }),
      atLeast: WEBHOOK_4XX_ALARM_AT,
      description: `${route.method} ${route.path} answered 4XX often: Calypso may block the subscription (README: webhook alarms)`,
    });

    new MetricFilter(this, 'WebhookThrottledFilter', {
      logGroup: this.api.accessLogs,
      filterPattern: FilterPattern.all(
        FilterPattern.stringValue('$.resourcePath', '=', route.path),
        FilterPattern.stringValue('$.status', '=', '429'),
      ),
      metricNamespace: METRICS_NAMESPACE,
      metricName: WEBHOOK_THROTTLED_METRIC,
      metricValue: '1',
      dimensions: { [SERVICE_DIMENSION]: '$.service' },
    });
    alarms.add('WebhookThrottled', {
      metric: customMetric(
        METRICS_NAMESPACE,
        WEBHOOK_THROTTLED_METRIC,
        { [SERVICE_DIMENSION]: serviceName },
        'Sum',
      ),
      atLeast: WEBHOOK_THROTTLED_ALARM_AT,
      description: `${route.method} ${route.path} answered 429: its method throttle is used up (README: webhook alarms)`,
    });

    const rules = [WEBHOOK_RULES.rate, ...(allowList ? [WEBHOOK_RULES.notAllowed] : [])];
    for (const rule of rules) {
      alarms.add(`WebhookWaf${rule.replace(/^Webhook/, '')}`, {
        metric: new Metric({
          namespace: 'AWS/WAFV2',
          metricName: 'BlockedRequests',
          dimensionsMap: { WebACL: this.firewall.aclName, Region: this.region, Rule: rule },
          statistic: 'Sum',
          period: ALARM_PERIOD,
        }),
        atLeast: WEBHOOK_THROTTLED_ALARM_AT,
        description: `WAF rule ${rule} blocked webhook requests: a flood, or Calypso itself (README: webhook alarms)`,
      });
    }
  }
}

/** The table from the shared definition (the same CreateTable input DynamoDB Local gets). */
export function payoutTable(scope: Construct, deferIndexes: string[]): Table {
  const input = createTableInput('payouts');
  const types = new Map(
    (input.AttributeDefinitions ?? []).map((d) => [d.AttributeName!, d.AttributeType!]),
  );
  const attribute = (name: string): Attribute => {
    const type = types.get(name);
    const mapped =
      type === 'S'
        ? AttributeType.STRING
        : type === 'N'
          ? AttributeType.NUMBER
          : type === 'B'
            ? AttributeType.BINARY
            : undefined;
    if (!mapped) throw new Error(`table attribute ${name} has no type`);
    return { name, type: mapped };
  };
  const keyOf = (schema: { AttributeName?: string; KeyType?: string }[] | undefined) => {
    const hash = schema?.find((k) => k.KeyType === 'HASH')?.AttributeName;
    const range = schema?.find((k) => k.KeyType === 'RANGE')?.AttributeName;
    if (!hash) throw new Error('key schema without a HASH key');
    return {
      partitionKey: attribute(hash),
      ...(range ? { sortKey: attribute(range) } : {}),
    };
  };

  const table = new Table(scope, 'Table', {
    ...keyOf(input.KeySchema),
    billingMode: BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    deletionProtection: true,
    removalPolicy: RemovalPolicy.RETAIN,
    timeToLiveAttribute: TABLE.ttlAttribute,
    encryption: TableEncryption.AWS_MANAGED,
  });
  for (const index of input.GlobalSecondaryIndexes ?? []) {
    if (deferIndexes.includes(index.IndexName!)) continue;
    if (index.Projection?.ProjectionType !== 'ALL') {
      throw new Error(`index ${index.IndexName}: only ALL projections are mapped`);
    }
    table.addGlobalSecondaryIndex({
      indexName: index.IndexName!,
      ...keyOf(index.KeySchema),
      projectionType: ProjectionType.ALL,
    });
  }
  return table;
}

/** `create-payout` → `CreatePayout`: construct ids and alarm names. */
function pascal(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
}
