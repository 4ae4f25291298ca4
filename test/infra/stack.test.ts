/**
 * The CDK stack, synthesised once with real esbuild bundling and checked resource by resource:
 * routes and their authorization, function settings and bundles, IAM scoping, the table, async
 * submission, the schedule, the webhook's throttle, WAF and alarms, alarms, the operations
 * dashboard, a RUNBOOK.md entry for every alarm, API Gateway's own problem+json answers, outputs
 * (the OpenAPI document among them), and cdk-nag's AWS Solutions checks.
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CfnQueue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/build.js';
import { BACKGROUND_FUNCTIONS } from '../../infra/functions.js';
import { METRICS_NAMESPACE, METRIC_NAMES } from '../../infra/metric-names.js';
import { OPENAPI_FILE } from '../../infra/openapi.js';
import { ROUTES } from '../../infra/routes.js';
import {
  CALYPSO_ERRORS_ALARM_AT,
  SUBMISSION_FAILURES_ALARM_AT,
  WEBHOOK_THROTTLED_METRIC,
  type PayoutsStack,
} from '../../infra/stack.js';
import { problemSchema } from '../../shared/http/schemas.js';
import { TABLE, createTableInput } from '../../shared/store/table.js';

type Json = Record<string, unknown>;
interface CfnResource {
  Type: string;
  Properties?: Json;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

const CONTEXT = {
  stage: 'test',
  calypsoBaseUrl: 'https://calypso.example.com',
  calypsoPathPrefix: '/api/v1/pub',
  currencyOverrides: '{"BTC":{"massPayoutLimit":50}}',
  reconcileRate: '5',
  alarmEmail: 'payouts-oncall@example.com',
  webhookRateLimit: '7',
  webhookBurstLimit: '9',
  webhookWafRateLimit: '600',
  webhookAllowedCidrs: '203.0.113.0/24, 198.51.100.7/32, 2001:db8::/32',
};

const HANDLERS = [
  ...new Set([...ROUTES.map((r) => r.handler), ...BACKGROUND_FUNCTIONS.map((b) => b.handler)]),
];

/** Handlers that sign Calypso requests; only these may read the API signing key. */
const SIGNING_KEY_READERS = [
  'get-balances',
  'retry-failed',
  'submit-payouts',
  'reconcile',
  // Looks a batch up at once when a webhook reports a final state.
  'apply-webhook',
];
/** Only the webhook reads the webhook keys. */
const WEBHOOK_KEY_READERS = ['calypso-webhook'];
const SUBMIT_INVOKERS = ['create-payout', 'retry-failed', 'approve-payout'];
/** The webhook route hands each stored event to apply-webhook. */
const APPLY_INVOKERS = ['calypso-webhook'];
/** Reads balances through get-balances instead of holding the signing key (the dry run). */
const BALANCES_INVOKERS = ['create-payout'];
const EVENT_PUBLISHERS = [
  'create-payout',
  'retry-failed',
  'approve-payout',
  'reject-payout',
  'cancel-payout',
  'admin-pause',
  'submit-payouts',
  'apply-webhook',
  'reconcile',
];
const READ_ONLY = [
  'get-payout',
  'list-withdrawals',
  'find-withdrawals',
  'list-events',
  'get-balances',
  'list-approvals',
];
const WRITE_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:ConditionCheckItem',
  'dynamodb:PartiQLUpdate',
];

let outdir: string;
let app: App;
let stack: PayoutsStack;
let template: Template;
let resources: Record<string, CfnResource>;
let started: number;

beforeAll(() => {
  started = Date.now();
  outdir = mkdtempSync(join(tmpdir(), 'payouts-cdk-'));
  // The feature flags from cdk.json, as `cdk synth` sees them, plus this test's parameters.
  // CDK's built-in template validation only ever warns during synth and takes ~20 s here;
  // `cdk synth` still runs it. The cdk-nag plugin registered by buildApp runs either way.
  const cdkJson = JSON.parse(readFileSync('cdk.json', 'utf8')) as { context: Json };
  app = new App({
    outdir,
    context: { ...cdkJson.context, ...CONTEXT },
    builtinCloudFormationValidation: false,
  });
  stack = buildApp(app);
  // Synthesises the app, which runs the registered cdk-nag plugin: findings would throw here.
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources as Record<string, CfnResource>;
}, 180_000);

afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
  console.info(
    `infra stack synthesised and checked in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
});

// ---- helpers -------------------------------------------------------------------------------

function ofType(type: string): [string, CfnResource][] {
  return Object.entries(resources).filter(([, r]) => r.Type === type);
}

function logicalId(construct: IConstruct): string {
  return stack.getLogicalId(construct.node.defaultChild as never);
}

function functionId(handler: string): string {
  const fn = stack.functions.get(handler);
  if (!fn) throw new Error(`no function for ${handler}`);
  return logicalId(fn.function);
}

function roleId(handler: string): string {
  return logicalId(stack.functions.get(handler)!.role);
}

/** Every statement of every inline policy attached to the handler's role. */
function statementsOf(handler: string): Statement[] {
  const role = roleId(handler);
  const roleResource = resources[role]!;
  expect(roleResource.Properties?.ManagedPolicyArns).toBeUndefined();
  const inline = (
    (roleResource.Properties?.Policies as { PolicyDocument: { Statement: Statement[] } }[]) ?? []
  ).flatMap((p) => p.PolicyDocument.Statement);
  const attached = ofType('AWS::IAM::Policy')
    .filter(([, p]) =>
      (p.Properties!.Roles as unknown[]).some(
        (r) => JSON.stringify(r) === JSON.stringify({ Ref: role }),
      ),
    )
    .flatMap(([, p]) => (p.Properties!.PolicyDocument as { Statement: Statement[] }).Statement);
  return [...inline, ...attached];
}

function actions(statement: Statement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

function resourcesOf(statement: Statement): unknown[] {
  return Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
}

function allActions(handler: string): string[] {
  return statementsOf(handler).flatMap(actions);
}

const tableArn = () => ({ 'Fn::GetAtt': [logicalId(stack.table), 'Arn'] });
const indexArn = (index: string) => ({
  'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId(stack.table), 'Arn'] }, `/index/${index}`]],
});

/** The full path of each API Gateway resource, from PathPart/ParentId. */
function resourcePaths(): Map<string, string> {
  const parts = new Map(ofType('AWS::ApiGateway::Resource').map(([id, r]) => [id, r.Properties!]));
  const paths = new Map<string, string>();
  const pathOf = (id: string): string => {
    const part = parts.get(id);
    if (!part) return '';
    const parent = part.ParentId as { Ref?: string; 'Fn::GetAtt'?: string[] };
    return `${parent.Ref ? pathOf(parent.Ref) : ''}/${String(part.PathPart)}`;
  };
  for (const id of parts.keys()) paths.set(id, pathOf(id));
  return paths;
}

function methodFor(method: string, path: string): CfnResource | undefined {
  const paths = resourcePaths();
  return ofType('AWS::ApiGateway::Method')
    .map(([, m]) => m)
    .find((m) => {
      if (m.Properties!.HttpMethod !== method) return false;
      const ref = m.Properties!.ResourceId as { Ref?: string; 'Fn::GetAtt'?: string[] };
      const at = ref.Ref ? paths.get(ref.Ref) : '/';
      return at === path;
    });
}

// ---- API ------------------------------------------------------------------------------------

describe('API Gateway', () => {
  it('has exactly one method per route, with IAM on iam routes and no authorizer on none routes', () => {
    expect(ofType('AWS::ApiGateway::Method')).toHaveLength(ROUTES.length);
    for (const route of ROUTES) {
      const method = methodFor(route.method, route.path);
      expect(method, `${route.method} ${route.path}`).toBeDefined();
      expect(method!.Properties!.AuthorizationType).toBe(route.auth === 'iam' ? 'AWS_IAM' : 'NONE');
      expect(method!.Properties!.AuthorizerId).toBeUndefined();
    }
    expect(ROUTES.filter((r) => r.auth === 'none').map((r) => r.path)).toEqual([
      '/webhooks/calypso',
    ]);
  });

  it("proxies each route to its own handler's function (headers such as x-correlation-id pass through)", () => {
    for (const route of ROUTES) {
      const integration = methodFor(route.method, route.path)!.Properties!.Integration as Json;
      expect(integration.Type).toBe('AWS_PROXY');
      expect(JSON.stringify(integration.Uri)).toContain(`"${functionId(route.handler)}"`);
      for (const other of HANDLERS.filter((h) => h !== route.handler)) {
        expect(JSON.stringify(integration.Uri)).not.toContain(`"${functionId(other)}"`);
      }
    }
  });

  it('requires path parameters through a request validator', () => {
    const [validatorId] = ofType('AWS::ApiGateway::RequestValidator')[0]!;
    for (const route of ROUTES) {
      const props = methodFor(route.method, route.path)!.Properties!;
      expect(props.RequestValidatorId).toEqual({ Ref: validatorId });
      const params = [...route.path.matchAll(/\{([^}]+)\}/g)].map(
        (m) => `method.request.path.${m[1]}`,
      );
      for (const param of params) expect((props.RequestParameters as Json)[param]).toBe(true);
    }
  });

  it('throttles the stage, writes access logs, traces, and logs errors without bodies', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'test',
      TracingEnabled: true,
      AccessLogSetting: {
        DestinationArn: { 'Fn::GetAtt': [logicalId(stack.api.accessLogs), 'Arn'] },
      },
      MethodSettings: [
        {
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: 50,
          ThrottlingBurstLimit: 100,
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
        },
        {
          HttpMethod: 'POST',
          ResourcePath: '/~1webhooks~1calypso',
          ThrottlingRateLimit: 7,
          ThrottlingBurstLimit: 9,
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
        },
      ],
    });
    const [, stage] = ofType('AWS::ApiGateway::Stage')[0]!;
    const format = JSON.parse(String((stage.Properties!.AccessLogSetting as Json).Format)) as Json;
    expect(format.requestId).toBe('$context.requestId');
    expect(format.lambdaRequestId).toBe('$context.integration.requestId');
    expect(format.status).toBe('$context.status');
    expect(format.resourcePath).toBe('$context.resourcePath');
    expect(format.service).toBe('calypso-payouts-test');
  });
});

// ---- functions ------------------------------------------------------------------------------

describe("API Gateway's own answers", () => {
  const EXPECTED: Record<string, string | undefined> = {
    ACCESS_DENIED: '403',
    INVALID_SIGNATURE: '403',
    MISSING_AUTHENTICATION_TOKEN: '403',
    UNAUTHORIZED: '401',
    RESOURCE_NOT_FOUND: '404',
    THROTTLED: '429',
    REQUEST_TOO_LARGE: '413',
    WAF_FILTERED: '403',
    INTEGRATION_TIMEOUT: '504',
    DEFAULT_4XX: undefined,
    DEFAULT_5XX: undefined,
  };

  const gatewayResponses = () =>
    Object.fromEntries(
      ofType('AWS::ApiGateway::GatewayResponse').map(([, r]) => [
        r.Properties!.ResponseType as string,
        r.Properties!,
      ]),
    );

  it('are problem+json with the request id as correlationId, on this API, with their status', () => {
    const byType = gatewayResponses();
    const api = logicalId(stack.api.api);
    for (const [type, status] of Object.entries(EXPECTED)) {
      const response = byType[type];
      expect(response, type).toBeDefined();
      expect(response!.RestApiId).toEqual({ Ref: api });
      expect(response!.StatusCode).toBe(status);
      expect((response!.ResponseParameters as Json)['gatewayresponse.header.Content-Type']).toBe(
        "'application/problem+json'",
      );
      // What API Gateway sends once it fills in the $context variables.
      const template = (response!.ResponseTemplates as Json)['application/json'] as string;
      const body = JSON.parse(
        template
          .replace('$context.error.messageString', JSON.stringify('User is not authorized'))
          .replace('$context.requestId', 'req-123'),
      ) as Json;
      expect(problemSchema.parse(body)).toEqual(body);
      expect(body.correlationId).toBe('req-123');
      expect(body.detail).toBe('User is not authorized');
      expect(body.status).toBe(status === undefined ? undefined : Number(status));
    }
  });

  it('tell a throttled caller when to come back', () => {
    expect(
      (gatewayResponses().THROTTLED!.ResponseParameters as Json)[
        'gatewayresponse.header.Retry-After'
      ],
    ).toBe("'1'");
  });
});

describe('functions', () => {
  it('is one function per handler, Node 22 or newer on arm64, traced, with memory, timeout and a log group', () => {
    expect(ofType('AWS::Lambda::Function')).toHaveLength(HANDLERS.length);
    for (const handler of HANDLERS) {
      const props = resources[functionId(handler)]!.Properties!;
      const version = Number(/^nodejs(\d+)\.x$/.exec(String(props.Runtime))?.[1]);
      expect(version, handler).toBeGreaterThanOrEqual(22);
      expect(props.Architectures).toEqual(['arm64']);
      expect(props.TracingConfig).toEqual({ Mode: 'Active' });
      expect(props.MemorySize).toBeGreaterThanOrEqual(128);
      expect(props.Timeout).toBeGreaterThan(0);
      expect(props.Handler).toBe('index.handler');
      const logGroupRef = (props.LoggingConfig as Json).LogGroup as { Ref: string };
      const logGroup = resources[logGroupRef.Ref]!;
      expect(logGroup.Type).toBe('AWS::Logs::LogGroup');
      expect(logGroup.Properties!.RetentionInDays).toBe(90);
      expect(props.ReservedConcurrentExecutions).toBeUndefined();
    }
  });

  it('keeps API functions inside the 29 s integration timeout and submitters inside their lease', () => {
    for (const route of ROUTES) {
      expect(resources[functionId(route.handler)]!.Properties!.Timeout).toBeLessThan(29);
    }
    const env = (h: string) =>
      (resources[functionId(h)]!.Properties!.Environment as { Variables: Json }).Variables;
    for (const handler of ['submit-payouts', 'reconcile']) {
      const timeoutMs = Number(resources[functionId(handler)]!.Properties!.Timeout) * 1000;
      expect(timeoutMs).toBeLessThan(Number(env(handler).SUBMISSION_LEASE_MS));
    }
  });

  it('gives every function its configuration from context, and only the names it uses', () => {
    for (const handler of HANDLERS) {
      const vars = (resources[functionId(handler)]!.Properties!.Environment as { Variables: Json })
        .Variables;
      expect(vars.TABLE_NAME).toEqual({ Ref: logicalId(stack.table) });
      expect(vars.CALYPSO_BASE_URL).toBe(CONTEXT.calypsoBaseUrl);
      expect(vars.CALYPSO_PATH_PREFIX).toBe(CONTEXT.calypsoPathPrefix);
      expect(vars.CURRENCY_OVERRIDES).toBe(CONTEXT.currencyOverrides);
      // A secret's ARN only where it may be read.
      expect(vars.CALYPSO_SECRET_ARN, handler).toEqual(
        SIGNING_KEY_READERS.includes(handler) ? { Ref: logicalId(stack.secret) } : undefined,
      );
      expect(vars.CALYPSO_WEBHOOK_SECRET_ARN, handler).toEqual(
        WEBHOOK_KEY_READERS.includes(handler) ? { Ref: logicalId(stack.webhookSecret) } : undefined,
      );
      expect(vars.BALANCES_FUNCTION_NAME, handler).toEqual(
        BALANCES_INVOKERS.includes(handler) ? { Ref: functionId('get-balances') } : undefined,
      );
      expect(vars.POWERTOOLS_SERVICE_NAME).toBe('calypso-payouts-test');
      expect(vars.NODE_OPTIONS).toContain('--enable-source-maps');
      expect(vars.APPLY_WEBHOOK_FUNCTION_NAME, handler).toEqual(
        APPLY_INVOKERS.includes(handler) ? { Ref: functionId('apply-webhook') } : undefined,
      );
      if (SUBMIT_INVOKERS.includes(handler)) {
        expect(vars.SUBMIT_FUNCTION_NAME).toEqual({ Ref: functionId('submit-payouts') });
      } else {
        expect(vars.SUBMIT_FUNCTION_NAME, handler).toBeUndefined();
      }
      if (EVENT_PUBLISHERS.includes(handler)) {
        expect(vars.EVENT_BUS_NAME).toEqual({ Ref: logicalId(stack.eventBus) });
      } else {
        expect(vars.EVENT_BUS_NAME, handler).toBeUndefined();
      }
    }
  });

  it('ships minified ESM bundles with source maps, a require shim and the AWS SDK inside', () => {
    const assets = JSON.parse(
      readFileSync(join(outdir, `${stack.artifactId}.assets.json`), 'utf8'),
    ) as {
      files: Record<string, { source: { path: string } }>;
    };
    for (const handler of HANDLERS) {
      const code = resources[functionId(handler)]!.Properties!.Code as { S3Key: string };
      const hash = code.S3Key.replace(/\.zip$/, '');
      const dir = join(outdir, assets.files[hash]!.source.path);
      const bundle = readFileSync(join(dir, 'index.mjs'), 'utf8');
      expect(existsSync(join(dir, 'index.mjs.map')), handler).toBe(true);
      expect(existsSync(join(dir, 'index.js'))).toBe(false);
      expect(bundle).toContain('import.meta.url');
      expect(bundle).toMatch(/createRequire/);
      // Bundled, not resolved at run time: no import of the SDK or any other package remains.
      expect(bundle).not.toMatch(/from\s*["']@aws-sdk\//);
      // (The SDK's own error text quotes `[require("@aws-sdk/signature-v4-crt")]`; not a call.)
      expect(bundle).not.toMatch(/(?<![[\w])require\(["']@aws-sdk\//);
      expect(bundle).toMatch(/sourceMappingURL=index\.mjs\.map/);
      // Minified: long lines (only template literals break them), not tens of thousands of short ones.
      expect(bundle.length / bundle.split('\n').length).toBeGreaterThan(1000);
    }
  });

  it('bundles the recipient address checks only into the functions that validate recipients', () => {
    const assets = JSON.parse(
      readFileSync(join(outdir, `${stack.artifactId}.assets.json`), 'utf8'),
    ) as {
      files: Record<string, { source: { path: string } }>;
    };
    const withChecks: string[] = [];
    for (const handler of HANDLERS) {
      const code = resources[functionId(handler)]!.Properties!.Code as { S3Key: string };
      const dir = join(outdir, assets.files[code.S3Key.replace(/\.zip$/, '')]!.source.path);
      // The source map names every file the bundle was built from.
      const { sources } = JSON.parse(readFileSync(join(dir, 'index.mjs.map'), 'utf8')) as {
        sources: string[];
      };
      const checks = sources.filter(
        (s) => s.endsWith('shared/domain/addresses.ts') || s.includes('/@noble/hashes/'),
      );
      if (checks.length > 0) withChecks.push(handler);
    }
    // Read handlers load neither the code nor its hash tables, computed as the module loads.
    expect(withChecks.sort()).toEqual(['create-payout', 'retry-failed']);
  });
});

// ---- IAM ------------------------------------------------------------------------------------

describe('IAM scoping', () => {
  it('never grants wildcards, except the X-Ray actions that have no resource-level form', () => {
    for (const handler of HANDLERS) {
      for (const statement of statementsOf(handler)) {
        expect(statement.Effect).toBe('Allow');
        for (const action of actions(statement)) expect(action).not.toMatch(/\*/);
        if (resourcesOf(statement).includes('*')) {
          expect(actions(statement).sort()).toEqual([
            'xray:PutTelemetryRecords',
            'xray:PutTraceSegments',
          ]);
        }
      }
    }
  });

  it('keeps read-only functions read-only', () => {
    for (const handler of READ_ONLY) {
      const granted = allActions(handler);
      for (const write of WRITE_ACTIONS) expect(granted, handler).not.toContain(write);
      expect(
        granted.filter(
          (a) => a.startsWith('dynamodb:') && !['dynamodb:GetItem', 'dynamodb:Query'].includes(a),
        ),
      ).toEqual([]);
      expect(granted).not.toContain('events:PutEvents');
      expect(granted).not.toContain('lambda:InvokeFunction');
    }
  });

  it('lets find-withdrawals query only the byExternalId index, not the table', () => {
    const dynamo = statementsOf('find-withdrawals').filter((s) =>
      actions(s).some((a) => a.startsWith('dynamodb:')),
    );
    expect(dynamo).toHaveLength(1);
    expect(actions(dynamo[0]!)).toEqual(['dynamodb:Query']);
    expect(resourcesOf(dynamo[0]!)).toEqual([indexArn(TABLE.indexes.byExternalId.name)]);
  });

  it('gives get-balances no table access at all', () => {
    expect(allActions('get-balances').filter((a) => a.startsWith('dynamodb:'))).toEqual([]);
  });

  it('lets only the reconciler query the open-batch index', () => {
    for (const handler of HANDLERS) {
      const onIndex = statementsOf(handler).some((s) =>
        resourcesOf(s).some(
          (r) => JSON.stringify(r) === JSON.stringify(indexArn(TABLE.indexes.openBatches.name)),
        ),
      );
      expect(onIndex, handler).toBe(handler === 'reconcile');
    }
  });

  it('grants table writes on the table itself, and no deletes or scans to anyone', () => {
    for (const handler of HANDLERS) {
      const granted = allActions(handler);
      expect(granted).not.toContain('dynamodb:DeleteItem');
      expect(granted).not.toContain('dynamodb:Scan');
      for (const statement of statementsOf(handler)) {
        if (actions(statement).some((a) => WRITE_ACTIONS.includes(a))) {
          expect(resourcesOf(statement)).toEqual([tableArn()]);
        }
      }
    }
    for (const writer of [
      'create-payout',
      'submit-payouts',
      'apply-webhook',
      'reconcile',
      'retry-failed',
    ]) {
      expect(allActions(writer)).toEqual(
        expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:UpdateItem']),
      );
    }
    // PartiQL only to update a looked-up batch's withdrawals: only the functions that look.
    for (const handler of HANDLERS) {
      const partiql = allActions(handler).filter((a) => a.startsWith('dynamodb:PartiQL'));
      expect(partiql, handler).toEqual(
        ['apply-webhook', 'reconcile'].includes(handler) ? ['dynamodb:PartiQLUpdate'] : [],
      );
    }
    // Reading items by the batch: only apply-webhook, the event with its batch.
    for (const handler of HANDLERS) {
      expect(allActions(handler).includes('dynamodb:BatchGetItem'), handler).toBe(
        handler === 'apply-webhook',
      );
    }
    // The webhook route only stores: one conditional PutItem per event.
    expect(allActions('calypso-webhook').filter((a) => a.startsWith('dynamodb:'))).toEqual([
      'dynamodb:PutItem',
    ]);
  });

  it('lets only the functions that sign read the signing key, and only the webhook the webhook keys', () => {
    const readersOf = (secret: IConstruct) =>
      HANDLERS.filter((handler) =>
        statementsOf(handler).some(
          (s) =>
            actions(s).includes('secretsmanager:GetSecretValue') &&
            resourcesOf(s).some((r) => JSON.stringify(r).includes(logicalId(secret))),
        ),
      ).sort();
    expect(readersOf(stack.secret)).toEqual([...SIGNING_KEY_READERS].sort());
    expect(readersOf(stack.webhookSecret)).toEqual([...WEBHOOK_KEY_READERS].sort());
    // The product requirement, spelled out: neither can read what signs payouts.
    expect(readersOf(stack.secret)).not.toContain('calypso-webhook');
    expect(readersOf(stack.secret)).not.toContain('create-payout');
    for (const handler of HANDLERS) {
      // Every secret read names exactly one of the two secrets, never a wildcard.
      for (const statement of statementsOf(handler)) {
        if (!actions(statement).includes('secretsmanager:GetSecretValue')) continue;
        expect(actions(statement)).toEqual(['secretsmanager:GetSecretValue']);
        const expected = [];
        if (SIGNING_KEY_READERS.includes(handler)) expected.push({ Ref: logicalId(stack.secret) });
        if (WEBHOOK_KEY_READERS.includes(handler)) {
          expected.push({ Ref: logicalId(stack.webhookSecret) });
        }
        expect(resourcesOf(statement), handler).toEqual(expected);
      }
      expect(
        allActions(handler).filter(
          (a) => a.startsWith('secretsmanager:') && a !== 'secretsmanager:GetSecretValue',
        ),
      ).toEqual([]);
    }
  });

  it('lets create-payout, retry-failed and approve-payout invoke the submit function, create-payout get-balances, the webhook apply-webhook, and nothing else', () => {
    for (const handler of HANDLERS) {
      const invoked = statementsOf(handler)
        .filter((s) => actions(s).includes('lambda:InvokeFunction'))
        .flatMap(resourcesOf)
        .map((r) => JSON.stringify(r))
        .sort();
      const expected = [
        ...(SUBMIT_INVOKERS.includes(handler) ? ['submit-payouts'] : []),
        ...(BALANCES_INVOKERS.includes(handler) ? ['get-balances'] : []),
        ...(APPLY_INVOKERS.includes(handler) ? ['apply-webhook'] : []),
      ]
        .map((target) => JSON.stringify({ 'Fn::GetAtt': [functionId(target), 'Arn'] }))
        .sort();
      expect(invoked, handler).toEqual(expected);
    }
  });

  it('lets publishers put events on the stack bus only', () => {
    for (const handler of HANDLERS) {
      const put = statementsOf(handler).filter((s) => actions(s).includes('events:PutEvents'));
      if (EVENT_PUBLISHERS.includes(handler)) {
        expect(put).toHaveLength(1);
        expect(resourcesOf(put[0]!)).toEqual([
          { 'Fn::GetAtt': [logicalId(stack.eventBus), 'Arn'] },
        ]);
      } else {
        expect(put, handler).toEqual([]);
      }
    }
  });
});

// ---- data, secret, events --------------------------------------------------------------------

describe('table', () => {
  it('is built from the shared definition', () => {
    const input = createTableInput('ignored');
    const [, table] = ofType('AWS::DynamoDB::Table')[0]!;
    const props = table.Properties!;
    expect(props.KeySchema).toEqual(input.KeySchema);
    expect(props.AttributeDefinitions).toEqual(input.AttributeDefinitions);
    expect(props.GlobalSecondaryIndexes).toEqual(input.GlobalSecondaryIndexes);
    expect((props.GlobalSecondaryIndexes as Json[]).map((i) => i.IndexName)).toEqual(
      Object.values(TABLE.indexes).map((i) => i.name),
    );
  });

  it('is on-demand, point-in-time recoverable, protected, retained, encrypted, with TTL', () => {
    expect(ofType('AWS::DynamoDB::Table')).toHaveLength(1);
    const [, table] = ofType('AWS::DynamoDB::Table')[0]!;
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
    expect(table.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
      TimeToLiveSpecification: { AttributeName: TABLE.ttlAttribute, Enabled: true },
      SSESpecification: { SSEEnabled: true },
    });
  });
});

describe('Calypso secrets', () => {
  it('are two, each a retained placeholder of its documented JSON shape', () => {
    expect(ofType('AWS::SecretsManager::Secret')).toHaveLength(2);
    const signing = resources[logicalId(stack.secret)]!;
    expect(signing.DeletionPolicy).toBe('Retain');
    const generate = signing.Properties!.GenerateSecretString as Json;
    expect(generate.GenerateStringKey).toBe('secretKey');
    const placeholder = JSON.parse(String(generate.SecretStringTemplate)) as Json;
    expect(Object.keys(placeholder).sort()).toEqual(['account', 'apiKey']);
    expect(String(signing.Properties!.Description)).toContain('"secretKey"');
    expect(String(signing.Properties!.Description)).not.toContain('webhookKeys');

    const webhook = resources[logicalId(stack.webhookSecret)]!;
    expect(webhook.DeletionPolicy).toBe('Retain');
    const webhookTemplate = JSON.parse(
      String((webhook.Properties!.GenerateSecretString as Json).SecretStringTemplate),
    ) as Json;
    expect(webhookTemplate).toEqual({ webhookKeys: [] });
    expect(String(webhook.Properties!.Description)).toContain('"webhookKeys": [{"publicKey"');
  });
});

describe('submission and schedule', () => {
  it('async-invokes submit with 2 retries, a max event age and an encrypted failure queue', () => {
    const failures = logicalId(stack.submitFailures);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: functionId('submit-payouts') },
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 3600,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [failures, 'Arn'] } } },
    });
    const queue = resources[failures]!.Properties!;
    expect(queue.SqsManagedSseEnabled).toBe(true);
    const redrive = queue.RedrivePolicy as { deadLetterTargetArn: { 'Fn::GetAtt': string[] } };
    const dlq = resources[redrive.deadLetterTargetArn['Fn::GetAtt'][0]!]!;
    expect(dlq.Type).toBe('AWS::SQS::Queue');
    expect(dlq.Properties!.SqsManagedSseEnabled).toBe(true);
    // Every queue (submission's and apply's, each with its dead letters) refuses requests
    // without TLS.
    const denials = ofType('AWS::SQS::QueuePolicy').filter(([, p]) =>
      JSON.stringify(p.Properties!.PolicyDocument).includes('"aws:SecureTransport":"false"'),
    );
    expect(denials).toHaveLength(4);
  });

  it('async-invokes apply-webhook with 2 retries and an encrypted failure queue, alarmed', () => {
    const failures = logicalId(stack.applyFailures);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: functionId('apply-webhook') },
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 3600,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [failures, 'Arn'] } } },
    });
    expect(resources[failures]!.Properties!.SqsManagedSseEnabled).toBe(true);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [failures, 'QueueName'] } }],
    });
  });

  it('runs the reconciler on the rate from context, without retrying a failed tick', () => {
    template.resourceCountIs('AWS::Events::Rule', 1);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Targets: [{ Arn: { 'Fn::GetAtt': [functionId('reconcile'), 'Arn'] } }],
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: functionId('reconcile') },
      MaximumRetryAttempts: 0,
    });
  });

  it('has a domain-event bus named for the stage', () => {
    template.resourceCountIs('AWS::Events::EventBus', 1);
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'calypso-payouts-test' });
  });
});

// ---- alarms ---------------------------------------------------------------------------------

describe('alarms', () => {
  const alarms = () => ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties!);
  const topic = () => ({ Ref: logicalId(stack.alarms.topic) });

  it('all notify the alarm topic', () => {
    expect(alarms().length).toBeGreaterThan(0);
    for (const alarm of alarms()) expect(alarm.AlarmActions).toEqual([topic()]);
  });

  it('watch errors and throttles of every function', () => {
    for (const handler of HANDLERS) {
      for (const metric of ['Errors', 'Throttles']) {
        const found = alarms().filter(
          (a) =>
            a.Namespace === 'AWS/Lambda' &&
            a.MetricName === metric &&
            JSON.stringify(a.Dimensions) ===
              JSON.stringify([{ Name: 'FunctionName', Value: { Ref: functionId(handler) } }]),
        );
        expect(found, `${handler} ${metric}`).toHaveLength(1);
        expect(found[0]).toMatchObject({
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        });
      }
    }
  });

  it('watch the failure queue, API 5xx and the reconciler running at all', () => {
    const failures = alarms().filter(
      (a) =>
        a.MetricName === 'ApproximateNumberOfMessagesVisible' &&
        JSON.stringify(a.Dimensions).includes(logicalId(stack.submitFailures)),
    );
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ Threshold: 1, Statistic: 'Maximum' });
    expect(
      alarms().filter((a) => a.Namespace === 'AWS/ApiGateway' && a.MetricName === '5XXError'),
    ).toHaveLength(1);
    const notRunning = alarms().filter(
      (a) =>
        a.MetricName === 'Invocations' &&
        JSON.stringify(a.Dimensions).includes(functionId('reconcile')),
    );
    expect(notRunning).toHaveLength(1);
    expect(notRunning[0]).toMatchObject({
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
  });

  it('watch the custom metrics with the dimension the functions emit', () => {
    const dims = [{ Name: 'service', Value: 'calypso-payouts-test' }];
    const stuck = alarms().filter(
      (a) => a.Namespace === METRICS_NAMESPACE && a.MetricName === METRIC_NAMES.stuckBatches,
    );
    expect(stuck).toHaveLength(1);
    expect(stuck[0]).toMatchObject({
      Dimensions: dims,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    const rejected = alarms().filter(
      (a) =>
        a.Namespace === METRICS_NAMESPACE && a.MetricName === METRIC_NAMES.webhookSignatureRejected,
    );
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({ Dimensions: dims, Statistic: 'Sum' });
    const disagreements = alarms().filter(
      (a) => a.Namespace === METRICS_NAMESPACE && a.MetricName === METRIC_NAMES.retryDisagreements,
    );
    expect(disagreements).toHaveLength(1);
    expect(disagreements[0]).toMatchObject({ Dimensions: dims, Statistic: 'Sum', Threshold: 1 });
    const found = alarms().filter(
      (a) => a.Namespace === METRICS_NAMESPACE && a.MetricName === METRIC_NAMES.rejectedButFound,
    );
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      Dimensions: dims,
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('go to an encrypted, TLS-only topic with the e-mail from context', () => {
    const [, topicResource] = ofType('AWS::SNS::Topic')[0]!;
    expect(topicResource.Properties!.KmsMasterKeyId).toBeDefined();
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: CONTEXT.alarmEmail,
      TopicArn: topic(),
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Deny',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
        ],
      },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: [
          {},
          {
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          },
        ],
      },
    });
  });
});

describe('alarms that fire within minutes', () => {
  const alarms = () => ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties!);
  const dims = [{ Name: 'service', Value: 'calypso-payouts-test' }];

  it('alarm on repeated submission failures and Calypso errors over 5 minutes, not hours', () => {
    for (const [metric, threshold] of [
      [METRIC_NAMES.submissionFailures, SUBMISSION_FAILURES_ALARM_AT],
      [METRIC_NAMES.calypsoErrors, CALYPSO_ERRORS_ALARM_AT],
    ] as const) {
      const found = alarms().filter(
        (a) => a.Namespace === METRICS_NAMESPACE && a.MetricName === metric,
      );
      expect(found, metric).toHaveLength(1);
      expect(found[0]).toMatchObject({
        AlarmName: `calypso-payouts-test-${metric}`,
        Dimensions: dims,
        Statistic: 'Sum',
        Period: 300,
        EvaluationPeriods: 1,
        Threshold: threshold,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: logicalId(stack.alarms.topic) }],
      });
    }
    expect(SUBMISSION_FAILURES_ALARM_AT).toBe(3);
  });
});

// ---- dashboard ------------------------------------------------------------------------------

describe('operations dashboard', () => {
  interface Widget {
    type: string;
    properties: { title?: string; metrics?: unknown[][]; markdown?: string };
  }
  /** The dashboard body with CloudFormation's tokens rendered as `<Ref:Id>` / `<Region>`. */
  const widgets = (): Widget[] => {
    const dashboards = ofType('AWS::CloudWatch::Dashboard');
    expect(dashboards).toHaveLength(1);
    const body = dashboards[0]![1].Properties!.DashboardBody as { 'Fn::Join': [string, unknown[]] };
    const text = body['Fn::Join'][1]
      .map((part) => {
        if (typeof part === 'string') return part;
        const ref = (part as { Ref?: string }).Ref;
        return ref === 'AWS::Region' ? 'eu-west-1' : `<Ref:${ref}>`;
      })
      .join('');
    return (JSON.parse(text) as { widgets: Widget[] }).widgets;
  };
  const widget = (title: string) => {
    const found = widgets().filter((w) => w.properties.title === title);
    expect(found, title).toHaveLength(1);
    return found[0]!;
  };
  /** [namespace, metric name] of every metric line of a widget. */
  const metricsOf = (title: string) =>
    (widget(title).properties.metrics ?? []).map((line) => [line[0], line[1]]);
  const custom = (...names: string[]) => names.map((n) => [METRICS_NAMESPACE, n]);

  it('is named for the stage and shows the business metrics the functions emit', () => {
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', {
      DashboardName: 'calypso-payouts-test',
    });
    expect(metricsOf('Payouts created and final, by state')).toEqual(
      custom(
        'PayoutsCreated',
        'PayoutsCompleted',
        'PayoutsCompletedWithFailures',
        'PayoutsFailed',
        'PayoutsCanceled',
        'PayoutsRejected',
      ),
    );
    expect(metricsOf('Withdrawals completed and failed')).toEqual(
      custom('WithdrawalsCompleted', 'WithdrawalsFailed'),
    );
    expect(metricsOf('Submission failures')).toEqual(custom('SubmissionFailures'));
    expect(metricsOf('Calypso errors and latency')).toEqual(
      custom('CalypsoErrors', 'CalypsoLatency', 'CalypsoLatency'),
    );
    expect(metricsOf('Batches: submitted, completed, due (open) and stuck')).toEqual(
      custom('BatchesSubmitted', 'BatchesCompleted', 'BatchesDue', 'StuckBatches'),
    );
    expect(metricsOf('Webhooks: accepted, rejected, throttled')).toEqual(
      custom('WebhooksReceived', 'WebhookSignatureRejected', WEBHOOK_THROTTLED_METRIC),
    );
    // Every custom metric line carries the one dimension the functions emit.
    const text = JSON.stringify(widgets());
    expect(text).not.toMatch(/"CalypsoPayouts","\w+"(?!,"service","calypso-payouts-test")/);
  });

  it('shows the reconciler duration, the API and every function', () => {
    const reconcileLines = widget('Reconciler duration').properties.metrics!.filter(
      (line) => line[1] === 'Duration',
    );
    expect(reconcileLines).toHaveLength(2);
    expect(JSON.stringify(reconcileLines)).toContain(`<Ref:${functionId('reconcile')}>`);
    expect(metricsOf('API latency')).toEqual([
      ['AWS/ApiGateway', 'Latency'],
      ['AWS/ApiGateway', 'Latency'],
    ]);
    expect(metricsOf('API 4xx and 5xx')).toEqual([
      ['AWS/ApiGateway', '4XXError'],
      ['AWS/ApiGateway', '5XXError'],
    ]);
    for (const [title, metric] of [
      ['Lambda errors per function', 'Errors'],
      ['Lambda throttles per function', 'Throttles'],
      ['Lambda duration per function (p99)', 'Duration'],
    ] as const) {
      const lines = widget(title).properties.metrics!;
      expect(lines.map((l) => [l[0], l[1]])).toEqual(HANDLERS.map(() => ['AWS/Lambda', metric]));
      const text = JSON.stringify(lines);
      for (const handler of HANDLERS)
        expect(text, `${title} ${handler}`).toContain(functionId(handler));
    }
  });
});

// ---- runbook --------------------------------------------------------------------------------

describe('RUNBOOK.md', () => {
  it('has an entry for every alarm the stack defines, so a new alarm without one fails the build', () => {
    const runbook = readFileSync('RUNBOOK.md', 'utf8');
    const names = ofType('AWS::CloudWatch::Alarm').map(([, a]) =>
      String(a.Properties!.AlarmName).replace(/^calypso-payouts-test-/, ''),
    );
    expect(names.length).toBeGreaterThan(40);
    const missing = names.filter((name) => !runbook.includes(`\`${name}\``));
    expect(missing, 'alarms RUNBOOK.md does not name').toEqual([]);
  });

  it('is linked from the README, whose alarm list names every alarm', () => {
    const readme = readFileSync('README.md', 'utf8');
    expect(readme).toContain('(RUNBOOK.md)');
    const alarmSection = readme.slice(readme.indexOf('### Alarms'));
    const names = ofType('AWS::CloudWatch::Alarm').map(([, a]) =>
      String(a.Properties!.AlarmName).replace(/^calypso-payouts-test-/, ''),
    );
    // Per-function alarms are named by pattern (`<Function>Errors`); the others by name.
    const pascal = (h: string) =>
      h
        .split('-')
        .map((p) => p[0]!.toUpperCase() + p.slice(1))
        .join('');
    const perFunction = new Set(
      HANDLERS.flatMap((h) => [`${pascal(h)}Errors`, `${pascal(h)}Throttles`]),
    );
    expect(alarmSection).toContain('`<Function>Errors`');
    expect(alarmSection).toContain('`<Function>Throttles`');
    for (const name of names) {
      if (perFunction.has(name)) continue;
      expect(alarmSection, name).toContain(`\`${name}\``);
    }
  });
});

// ---- the webhook under a flood ----------------------------------------------------------------

describe('webhook under a flood', () => {
  const alarms = () => ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties!);
  const acl = () => {
    const acls = ofType('AWS::WAFv2::WebACL');
    expect(acls).toHaveLength(1);
    return acls[0]!;
  };
  const rule = (name: string) =>
    (acl()[1].Properties!.Rules as Json[]).find((r) => r.Name === name) as Json | undefined;
  const webhookPathMatch = {
    ByteMatchStatement: {
      FieldToMatch: { UriPath: {} },
      PositionalConstraint: 'CONTAINS',
      SearchString: '/webhooks/calypso',
      TextTransformations: [{ Priority: 0, Type: 'LOWERCASE' }],
    },
  };

  it('puts a regional WAF ACL on the API stage, allowing by default', () => {
    const [aclId, webAcl] = acl();
    expect(webAcl.Properties).toMatchObject({ Scope: 'REGIONAL', DefaultAction: { Allow: {} } });
    const [, association] = ofType('AWS::WAFv2::WebACLAssociation')[0]!;
    expect(ofType('AWS::WAFv2::WebACLAssociation')).toHaveLength(1);
    expect(association.Properties!.WebACLArn).toEqual({ 'Fn::GetAtt': [aclId, 'Arn'] });
    const stageId = logicalId(stack.api.api.deploymentStage);
    expect(JSON.stringify(association.Properties!.ResourceArn)).toContain(`"${stageId}"`);
    expect(JSON.stringify(association.Properties!.ResourceArn)).toContain('/stages/');
  });

  it('blocks a source sending the webhook path more than the rate from context', () => {
    const rate = rule('WebhookRatePerSource');
    expect(rate).toMatchObject({
      Action: { Block: {} },
      Statement: {
        RateBasedStatement: {
          Limit: 600,
          AggregateKeyType: 'IP',
          ScopeDownStatement: webhookPathMatch,
        },
      },
      VisibilityConfig: { CloudWatchMetricsEnabled: true, MetricName: 'WebhookRatePerSource' },
    });
  });

  it('blocks webhook requests from outside the allow-list, one IP set per address family', () => {
    const sets = ofType('AWS::WAFv2::IPSet');
    expect(
      sets.map(([, set]) => [set.Properties!.IPAddressVersion, set.Properties!.Addresses]),
    ).toEqual(
      expect.arrayContaining([
        ['IPV4', ['203.0.113.0/24', '198.51.100.7/32']],
        ['IPV6', ['2001:db8::/32']],
      ]),
    );
    expect(sets).toHaveLength(2);
    const notAllowed = rule('WebhookSourceNotAllowed');
    expect(notAllowed).toMatchObject({ Action: { Block: {} } });
    const and = (notAllowed!.Statement as Json).AndStatement as { Statements: Json[] };
    expect(and.Statements[0]).toEqual(webhookPathMatch);
    const allowed = (and.Statements[1]!.NotStatement as { Statement: Json }).Statement;
    const refs = ((allowed.OrStatement as { Statements: Json[] }).Statements ?? []).map(
      (st) => (st.IPSetReferenceStatement as { Arn: unknown }).Arn,
    );
    expect(refs.sort()).toEqual(sets.map(([id]) => ({ 'Fn::GetAtt': [id, 'Arn'] })).sort());
    // The allow-list is checked before the rate rule.
    expect(Number(notAllowed!.Priority)).toBeLessThan(
      Number(rule('WebhookRatePerSource')!.Priority),
    );
  });

  it("alarms on the webhook method's 4XX answers", () => {
    const found = alarms().filter(
      (a) =>
        a.Namespace === 'AWS/ApiGateway' &&
        a.MetricName === '4XXError' &&
        JSON.stringify(a.Dimensions).includes('"/webhooks/calypso"'),
    );
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      Statistic: 'Sum',
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    const dims = Object.fromEntries(
      (found[0]!.Dimensions as { Name: string; Value: unknown }[]).map((d) => [d.Name, d.Value]),
    );
    expect(dims).toEqual({
      ApiName: 'calypso-payouts-test',
      Stage: 'test',
      Resource: '/webhooks/calypso',
      Method: 'POST',
    });
    // Well before Calypso's block at more than 100 failures in 10 minutes.
    expect(Number(found[0]!.Threshold)).toBeLessThanOrEqual(50);
  });

  it('counts 429s on the webhook from the access logs and alarms on them', () => {
    const filters = ofType('AWS::Logs::MetricFilter');
    expect(filters).toHaveLength(1);
    const filter = filters[0]![1].Properties!;
    expect(filter.LogGroupName).toEqual({ Ref: logicalId(stack.api.accessLogs) });
    expect(String(filter.FilterPattern)).toContain('$.resourcePath = "/webhooks/calypso"');
    expect(String(filter.FilterPattern)).toContain('$.status = "429"');
    const transformation = (filter.MetricTransformations as Json[])[0]!;
    expect(transformation).toMatchObject({
      MetricNamespace: METRICS_NAMESPACE,
      MetricName: 'WebhookThrottled',
      MetricValue: '1',
      Dimensions: [{ Key: 'service', Value: '$.service' }],
    });
    const throttled = alarms().filter(
      (a) => a.Namespace === METRICS_NAMESPACE && a.MetricName === 'WebhookThrottled',
    );
    expect(throttled).toHaveLength(1);
    expect(throttled[0]).toMatchObject({
      Dimensions: [{ Name: 'service', Value: 'calypso-payouts-test' }],
      Statistic: 'Sum',
    });
  });

  it("alarms on each WAF rule's blocks", () => {
    const [, webAcl] = acl();
    const blocked = alarms().filter(
      (a) => a.Namespace === 'AWS/WAFV2' && a.MetricName === 'BlockedRequests',
    );
    const ruleOf = (a: Json) =>
      (a.Dimensions as { Name: string; Value: unknown }[]).find((d) => d.Name === 'Rule')!.Value;
    expect(blocked.map(ruleOf).sort()).toEqual(['WebhookRatePerSource', 'WebhookSourceNotAllowed']);
    for (const alarm of blocked) {
      const acl = (alarm.Dimensions as { Name: string; Value: unknown }[]).find(
        (d) => d.Name === 'WebACL',
      )!.Value;
      expect(acl).toBe(webAcl.Properties!.Name);
    }
  });
});

// ---- outputs and checks ---------------------------------------------------------------------

describe('outputs', () => {
  it('name the API, webhook, secret, table, bus and alarm topic', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    for (const name of [
      'ApiUrl',
      'WebhookUrl',
      'CalypsoSecretArn',
      'CalypsoWebhookSecretArn',
      'TableName',
      'EventBusName',
      'AlarmTopicArn',
    ]) {
      expect(outputs[name], name).toBeDefined();
    }
    expect(JSON.stringify(outputs.WebhookUrl!.Value)).toMatch(/\/webhooks\/calypso"/);
    expect(outputs.CalypsoSecretArn!.Value).toEqual({ Ref: logicalId(stack.secret) });
    expect(outputs.CalypsoWebhookSecretArn!.Value).toEqual({ Ref: logicalId(stack.webhookSecret) });
    expect(outputs.TableName!.Value).toEqual({ Ref: logicalId(stack.table) });
    expect(outputs.AlarmTopicArn!.Value).toEqual({ Ref: logicalId(stack.alarms.topic) });
  });

  it('publish openapi.json as an asset, its S3 URL an output', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    const url = JSON.stringify(outputs.OpenApiUrl?.Value);
    expect(url).toMatch(/s3:\/\//);
    const staged = readdirSync(outdir).filter((name) => /^asset\..*\.json$/.test(name));
    const document = readFileSync(OPENAPI_FILE, 'utf8');
    const published = staged.filter(
      (name) => readFileSync(join(outdir, name), 'utf8') === document,
    );
    expect(published).toHaveLength(1);
    expect(url).toContain(published[0]!.slice('asset.'.length));
  });
});

describe('cdk-nag AWS Solutions checks', () => {
  it('report no unacknowledged error or warning', () => {
    const report = new AwsSolutionsChecks().validateScope(app);
    const findings = report.violations.map(
      (v) =>
        `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );
    expect(findings).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('would report findings if there were any (the check is live)', () => {
    const scratch = new App();
    // An unencrypted queue without a DLQ or TLS policy: AwsSolutions-SQS2/SQS3/SQS4.
    new CfnQueue(new Stack(scratch, 'Scratch'), 'Plain', { sqsManagedSseEnabled: false });
    const rules = new AwsSolutionsChecks().validateScope(scratch).violations.map((v) => v.ruleName);
    expect(rules).toEqual(
      expect.arrayContaining(['AwsSolutions-SQS2', 'AwsSolutions-SQS3', 'AwsSolutions-SQS4']),
    );
  });

  it('every acknowledgement gives a specific one-line reason', () => {
    const acknowledged: [string, string][] = [];
    const visit = (node: IConstruct) => {
      for (const entry of node.node.metadata) {
        if (entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY) {
          for (const [id, reason] of Object.entries(entry.data as Record<string, string>))
            acknowledged.push([id, reason]);
        }
      }
      node.node.children.forEach(visit);
    };
    visit(stack);
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const [id, reason] of acknowledged) {
      expect(id).toMatch(/AwsSolutions-/);
      expect(reason, id).not.toMatch(/\n/);
      expect(reason.length, id).toBeGreaterThan(30);
      expect(reason.length, id).toBeLessThanOrEqual(160);
    }
    const rules = new Set(
      acknowledged.map(([id]) => id.replace(/^annotation::/i, '').replace(/\[.*$/, '')),
    );
    expect([...rules].sort()).toEqual(
      [
        'AwsSolutions-APIG2',
        'AwsSolutions-APIG4',
        'AwsSolutions-COG4',
        'AwsSolutions-IAM4',
        'AwsSolutions-IAM5',
        'AwsSolutions-SMG4',
      ].sort(),
    );
  });
});
