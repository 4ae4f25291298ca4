/**
 * The local API: an HTTP server on 127.0.0.1 that turns requests into API Gateway (REST, proxy)
 * events for the same handlers, from the same route list the CDK stack uses, each made over the
 * system it is given (the local one, infra/local/system.ts) instead of the one a function builds
 * on AWS. The caller's
 * identity comes from the `x-caller-id` header, standing in for IAM: an ARN
 * (`arn:aws:sts::ACCT:assumed-role/ROLE/SESSION`, `arn:aws:iam::ACCT:user/NAME`) is passed as
 * API Gateway would pass it, and normalised by the handlers exactly as on AWS; any other name
 * becomes `local:<name>` (default `local:local`). `GET /openapi.json` serves the API's contract.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { System } from '../../shared/system.js';
import { OPENAPI_FILE } from '../openapi.js';
import { matchRoute, ROUTES, type Route } from '../routes.js';

type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

export interface LocalApi {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** API Gateway's own payload limit; the handler applies the configured, smaller one. */
const GATEWAY_MAX_BYTES = 10 * 1024 * 1024;

/** What every API function module exports besides its AWS `handler`. */
interface HandlerModule {
  makeHandler(system: () => System): Handler;
}

async function loadHandler(route: Route, system: () => System): Promise<Handler> {
  const module = (await import(`../../functions/${route.handler}.ts`)) as HandlerModule;
  return module.makeHandler(system);
}

function lambdaContext(name: string): Context {
  const requestId = randomUUID();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${name}`,
    memoryLimitInMB: '512',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 29_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= GATEWAY_MAX_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > GATEWAY_MAX_BYTES ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function toApiEvent(
  req: IncomingMessage,
  url: URL,
  body: Buffer,
  route: Route,
  pathParameters: Record<string, string>,
): APIGatewayProxyEvent {
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  const multiValueHeaders: Record<string, string[]> = Object.create(null) as Record<
    string,
    string[]
  >;
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    headers[name] = values.join(',');
    multiValueHeaders[name] = values;
  }
  // No prototype: a query name like `constructor` or `__proto__` is just a name.
  const query: Record<string, string> = Object.create(null) as Record<string, string>;
  const multiQuery: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const [name, value] of url.searchParams) {
    query[name] = value;
    (multiQuery[name] ??= []).push(value);
  }
  const given = headers['x-caller-id'];
  const caller =
    route.auth !== 'iam' ? null : given?.startsWith('arn:') ? given : `local:${given || 'local'}`;
  const text = body.toString('utf8');
  const isText = Buffer.from(text, 'utf8').equals(body);
  return {
    resource: route.path,
    path: url.pathname,
    httpMethod: req.method ?? 'GET',
    headers,
    multiValueHeaders,
    queryStringParameters: Object.keys(query).length ? query : null,
    multiValueQueryStringParameters: Object.keys(multiQuery).length ? multiQuery : null,
    pathParameters: Object.keys(pathParameters).length ? pathParameters : null,
    stageVariables: null,
    body: body.length ? (isText ? text : body.toString('base64')) : null,
    isBase64Encoded: body.length > 0 && !isText,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: req.method ?? 'GET',
      path: url.pathname,
      stage: 'local',
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: route.path,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        user: null,
        userAgent: headers['user-agent'] ?? null,
        userArn: caller,
      },
    },
  };
}

function send(res: ServerResponse, result: APIGatewayProxyResult) {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  res.writeHead(result.statusCode, headers);
  res.end(result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body);
}

function problem(res: ServerResponse, status: number, title: string, detail: string) {
  res.writeHead(status, { 'content-type': 'application/problem+json' });
  res.end(JSON.stringify({ type: 'about:blank', title, status, detail }));
}

export async function startLocalApi(options: {
  /** The system the handlers use, asked for on every request. */
  system: () => System;
  port?: number;
  routes?: readonly Route[];
}): Promise<LocalApi> {
  const routes = options.routes ?? ROUTES;
  const handlers = new Map<Route, Handler>();
  for (const route of routes) handlers.set(route, await loadHandler(route, options.system));

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname === '/openapi.json' && req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(await readFile(OPENAPI_FILE));
      }
      const candidates = routes
        .map((route) => ({ route, params: matchRoute(route.path, url.pathname) }))
        .filter((c) => c.params !== undefined);
      const match = candidates.find((c) => c.route.method === req.method);
      if (!match) {
        if (candidates.length)
          return problem(res, 405, 'Method not allowed', `${req.method} ${url.pathname}`);
        return problem(res, 404, 'Not found', `no route for ${url.pathname}`);
      }
      const body = await readBody(req);
      if (body === 'too-large')
        return problem(res, 413, 'The body is too large', 'the gateway limit is 10 MiB');
      const event = toApiEvent(req, url, body, match.route, match.params ?? {});
      const result = await handlers.get(match.route)!(event, lambdaContext(match.route.handler));
      send(res, result);
    })().catch((err: unknown) => {
      // A handler that throws past its own error middleware: what API Gateway shows as a 502.
      console.error(err);
      if (!res.headersSent) problem(res, 502, 'Bad gateway', 'the handler failed');
      else res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
