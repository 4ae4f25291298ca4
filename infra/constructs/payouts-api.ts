/**
 * The REST API, built from ROUTES: IAM (SigV4) authorization on every `iam` route, none on the
 * `none` routes (Calypso's webhook, authenticated by its signature inside the handler). Lambda
 * proxy integrations pass every request header (x-correlation-id included) and the body through
 * untouched, and return the function's headers as they are. What API Gateway answers itself
 * (refused signatures, unknown routes, throttling, oversized bodies, WAF blocks, integration
 * failures) is problem+json too, with the request id as correlationId.
 */
import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  AuthorizationType,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  ResponseType,
  RestApi,
  type Method,
  type RequestValidator,
} from 'aws-cdk-lib/aws-apigateway';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { Route } from '../routes.js';

export interface PayoutsApiProps {
  stage: string;
  routes: readonly Route[];
  /** The function serving each route's handler. */
  functionFor: (handler: string) => IFunction;
  throttle: { rateLimit: number; burstLimit: number };
  /** Each `none` route's own method throttling (the webhook), apart from the stage's. */
  unauthenticatedThrottle: { rateLimit: number; burstLimit: number };
  logRetention: RetentionDays;
}

/**
 * One JSON line per request; `lambdaRequestId` joins it to the function's logs, `service` names
 * the stage for metrics counted from these lines.
 */
const accessLogFormat = (service: string) =>
  AccessLogFormat.custom(
    JSON.stringify({
      service,
      requestId: '$context.requestId',
      extendedRequestId: '$context.extendedRequestId',
      lambdaRequestId: '$context.integration.requestId',
      time: '$context.requestTime',
      method: '$context.httpMethod',
      resourcePath: '$context.resourcePath',
      path: '$context.path',
      status: '$context.status',
      protocol: '$context.protocol',
      responseLength: '$context.responseLength',
      responseLatencyMs: '$context.responseLatency',
      integrationLatencyMs: '$context.integration.latency',
      integrationStatus: '$context.integration.status',
      errorType: '$context.error.responseType',
      errorMessage: '$context.error.message',
      sourceIp: '$context.identity.sourceIp',
      userAgent: '$context.identity.userAgent',
      caller: '$context.identity.userArn',
      xrayTraceId: '$context.xrayTraceId',
    }),
  );

/**
 * Every response API Gateway itself may give, with its status and a problem `type` slug; the
 * DEFAULT_* ones only catch types API Gateway adds later (their status is not known here).
 */
export const GATEWAY_RESPONSES: readonly {
  type: ResponseType;
  status?: number;
  slug: string;
  title: string;
}[] = [
  { type: ResponseType.ACCESS_DENIED, status: 403, slug: 'access-denied', title: 'Access denied' },
  {
    type: ResponseType.INVALID_SIGNATURE,
    status: 403,
    slug: 'invalid-signature',
    title: 'The request signature is not valid',
  },
  {
    type: ResponseType.EXPIRED_TOKEN,
    status: 403,
    slug: 'expired-token',
    title: 'The security token has expired',
  },
  {
    type: ResponseType.MISSING_AUTHENTICATION_TOKEN,
    status: 403,
    slug: 'no-route-or-not-signed',
    title: 'No such route, or the request is not signed',
  },
  { type: ResponseType.UNAUTHORIZED, status: 401, slug: 'unauthorized', title: 'Unauthorized' },
  {
    type: ResponseType.INVALID_API_KEY,
    status: 403,
    slug: 'invalid-api-key',
    title: 'The API key is not valid',
  },
  { type: ResponseType.RESOURCE_NOT_FOUND, status: 404, slug: 'no-route', title: 'No such route' },
  { type: ResponseType.THROTTLED, status: 429, slug: 'throttled', title: 'Too many requests' },
  {
    type: ResponseType.QUOTA_EXCEEDED,
    status: 429,
    slug: 'quota-exceeded',
    title: 'Quota exceeded',
  },
  {
    type: ResponseType.REQUEST_TOO_LARGE,
    status: 413,
    slug: 'body-too-large',
    title: 'The body is too large',
  },
  {
    type: ResponseType.BAD_REQUEST_PARAMETERS,
    status: 400,
    slug: 'bad-request',
    title: 'Bad request parameters',
  },
  {
    type: ResponseType.BAD_REQUEST_BODY,
    status: 400,
    slug: 'bad-request',
    title: 'Bad request body',
  },
  {
    type: ResponseType.UNSUPPORTED_MEDIA_TYPE,
    status: 415,
    slug: 'unsupported-media-type',
    title: 'Unsupported content type',
  },
  {
    type: ResponseType.WAF_FILTERED,
    status: 403,
    slug: 'blocked',
    title: 'Blocked by the web ACL',
  },
  {
    type: ResponseType.AUTHORIZER_FAILURE,
    status: 500,
    slug: 'internal',
    title: 'Authorization failed on our side',
  },
  {
    type: ResponseType.AUTHORIZER_CONFIGURATION_ERROR,
    status: 500,
    slug: 'internal',
    title: 'Authorization failed on our side',
  },
  {
    type: ResponseType.API_CONFIGURATION_ERROR,
    status: 500,
    slug: 'internal',
    title: 'Internal error',
  },
  {
    type: ResponseType.INTEGRATION_FAILURE,
    status: 504,
    slug: 'integration-failure',
    title: 'The function failed',
  },
  {
    type: ResponseType.INTEGRATION_TIMEOUT,
    status: 504,
    slug: 'integration-timeout',
    title: 'The function did not answer in time',
  },
  { type: ResponseType.DEFAULT_4XX, slug: 'refused', title: 'Refused by API Gateway' },
  { type: ResponseType.DEFAULT_5XX, slug: 'internal', title: 'Internal error' },
];

/** The problem+json body of a gateway response (a template of `$context` variables only). */
export function gatewayProblemTemplate(response: (typeof GATEWAY_RESPONSES)[number]): string {
  const fields = [
    `"type":${JSON.stringify(`https://errors.payouts.internal/${response.slug}`)}`,
    `"title":${JSON.stringify(response.title)}`,
    ...(response.status !== undefined ? [`"status":${response.status}`] : []),
    // messageString is API Gateway's own message, already a quoted JSON string.
    '"detail":$context.error.messageString',
    '"correlationId":"$context.requestId"',
  ];
  return `{${fields.join(',')}}`;
}

export class PayoutsApi extends Construct {
  readonly api: RestApi;
  readonly accessLogs: LogGroup;
  /** Every method, by `METHOD path`. */
  readonly methods = new Map<string, Method>();

  constructor(scope: Construct, id: string, props: PayoutsApiProps) {
    super(scope, id);

    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.api = new RestApi(this, 'Api', {
      restApiName: `calypso-payouts-${props.stage}`,
      description: 'Calypso mass payouts: internal API (IAM) and the Calypso webhook',
      endpointTypes: [EndpointType.REGIONAL],
      // Access and execution logs need the account's API Gateway CloudWatch role.
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName: props.stage,
        throttlingRateLimit: props.throttle.rateLimit,
        throttlingBurstLimit: props.throttle.burstLimit,
        accessLogDestination: new LogGroupLogDestination(this.accessLogs),
        accessLogFormat: accessLogFormat(`calypso-payouts-${props.stage}`),
        // Errors only, and never request or response bodies (addresses and amounts).
        loggingLevel: MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        tracingEnabled: true,
        // Under a flood the webhook answers 429 on its own, leaving the internal routes' limits.
        methodOptions: Object.fromEntries(
          props.routes
            .filter((route) => route.auth === 'none')
            .map((route) => [
              `${route.path}/${route.method}`,
              {
                throttlingRateLimit: props.unauthenticatedThrottle.rateLimit,
                throttlingBurstLimit: props.unauthenticatedThrottle.burstLimit,
                loggingLevel: MethodLoggingLevel.ERROR,
                dataTraceEnabled: false,
                metricsEnabled: true,
              },
            ]),
        ),
      },
    });

    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason: "API Gateway's account-level logging role uses the AWS policy made for exactly that.",
    });

    /**
     * Bodies are not validated here: the handlers answer with problem+json naming each failing
     * field, and the webhook must see its raw body unchanged. Path parameters are required.
     */
    const validator: RequestValidator = this.api.addRequestValidator('PathParameters', {
      validateRequestParameters: true,
      validateRequestBody: false,
    });
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG2',
      reason:
        'Parameters are validated here; bodies by the handlers (problem+json per field), and the webhook needs its raw body.',
    });

    for (const response of GATEWAY_RESPONSES) {
      this.api.addGatewayResponse(`Gateway${response.type.responseType}`, {
        type: response.type,
        ...(response.status !== undefined ? { statusCode: String(response.status) } : {}),
        responseHeaders: {
          'Content-Type': "'application/problem+json'",
          ...(response.status === 429 ? { 'Retry-After': "'1'" } : {}),
        },
        templates: { 'application/json': gatewayProblemTemplate(response) },
      });
    }

    const integrations = new Map<string, LambdaIntegration>();
    for (const route of props.routes) {
      let integration = integrations.get(route.handler);
      if (!integration) {
        integration = new LambdaIntegration(props.functionFor(route.handler), {
          proxy: true,
          allowTestInvoke: false,
        });
        integrations.set(route.handler, integration);
      }
      const pathParameters = [...route.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
      const method = this.api.root
        .resourceForPath(route.path)
        .addMethod(route.method, integration, {
          authorizationType: route.auth === 'iam' ? AuthorizationType.IAM : AuthorizationType.NONE,
          requestValidator: validator,
          requestParameters: Object.fromEntries(
            pathParameters.map((name) => [`method.request.path.${name}`, true]),
          ),
        });
      this.methods.set(`${route.method} ${route.path}`, method);

      Validations.of(method).acknowledge({
        id: 'AwsSolutions-COG4',
        reason:
          route.auth === 'iam'
            ? 'Callers are internal AWS services, authorized with IAM SigV4 instead of Cognito users.'
            : 'Calypso cannot use Cognito; the handler verifies its HMAC signature on the raw body.',
      });
      if (route.auth === 'none') {
        Validations.of(method).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            'Called by Calypso, which cannot sign with SigV4; the handler rejects bodies without a valid HMAC Sign.',
        });
      }
    }
  }
}
