/**
 * The HTTP front: routes `{prefix}/...` to the Calypso operations through the production-like
 * checks (envelope.ts) and the request faults, records every request, and hands `/__sandbox/...`
 * to the admin API.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CalypsoRoute } from './calypso-api.js';
import type { SandboxClock } from './clock.js';
import { authenticate, readEnvelope } from './envelope.js';
import { CalypsoError, ERROR_CODES, badRequest } from './errors.js';
import type { FaultRegistry, RequestFaultPlan } from './faults.js';
import type { IdFactory } from './ids.js';
import type { RequestLog } from './inspection.js';
import { toJson } from './json.js';
import type { SandboxStore } from './store.js';
import type { RecordedRequest } from './types.js';

const MAX_BODY_BYTES = 5 * 1024 * 1024;
export const ADMIN_PREFIX = '/__sandbox';

export interface HttpReply {
  status: number;
  body: string;
}

export type AdminHandler = (method: string, url: URL, body: string) => Promise<HttpReply>;

export interface SandboxServerDeps {
  pathPrefix: string;
  routes: CalypsoRoute[];
  store: SandboxStore;
  clock: SandboxClock;
  faults: FaultRegistry;
  ids: IdFactory;
  requests: RequestLog;
  admin: AdminHandler;
  onInternalError: (context: string, error: unknown) => void;
}

export class SandboxServer {
  private readonly server: http.Server;
  /** Delays under way; close() cuts them short. */
  private readonly pendingDelays = new Set<() => void>();

  constructor(private readonly deps: SandboxServerDeps) {
    this.server = http.createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        deps.onInternalError('request handling', error);
        if (!response.headersSent && !response.destroyed) reply(response, 500, '{}');
      });
    });
  }

  async listen(port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const release of this.pendingDelays) release();
    this.pendingDelays.clear();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse) {
    const raw = await readBody(request);
    if (raw === undefined) {
      reply(response, 413, toJson({ errorCode: '001', message: 'Request body too large' }));
      request.socket.destroy();
      return;
    }
    const url = new URL(request.url ?? '/', 'http://sandbox.invalid');
    const body = raw.toString('utf8');
    if (url.pathname === ADMIN_PREFIX || url.pathname.startsWith(`${ADMIN_PREFIX}/`)) {
      const answer = await this.deps.admin(request.method ?? 'GET', url, body);
      reply(response, answer.status, answer.body);
      return;
    }
    await this.handleCalypso(request, response, url.pathname, body);
  }

  private async handleCalypso(
    request: http.IncomingMessage,
    response: http.ServerResponse,
    path: string,
    body: string,
  ): Promise<void> {
    const { store, clock, faults, requests } = this.deps;
    const record = requests.begin({
      receivedAt: clock.now(),
      method: request.method ?? '',
      path,
      apiKey: header(request, 'key') ?? null,
      sign: header(request, 'sign') ?? null,
      body,
    });

    let plan: RequestFaultPlan = { drop: false };
    let answer: HttpReply;
    try {
      const route = this.route(request.method ?? '', path);
      record.operation = route.operation;
      const apiKey = header(request, 'key');
      if (apiKey !== undefined && store.accountByKey(apiKey)) record.signatureValid = false;
      const account = authenticate(store, apiKey, header(request, 'sign'), body);
      record.signatureValid = true;
      checkContentType(request);
      const envelope = readEnvelope(body, route.takesPayload, account, clock.now());

      plan = faults.takeForRequest(route.operation);
      if (plan.delay?.phase === 'beforeHandling') await this.sleep(plan.delay.ms, record);
      if (plan.fail) {
        record.fault = 'fail';
        throw new CalypsoError(plan.fail.errorCode, plan.fail.message, plan.fail.status);
      }
      const result = route.handle(account, envelope.payload);
      answer = { status: 200, body: result === undefined ? '' : toJson(result) };
      record.verdict = 'accepted';
    } catch (error) {
      answer = this.errorReply(error);
      record.errorCode = (error instanceof CalypsoError && error.errorCode) || ERROR_CODES.internal;
      record.message = error instanceof Error ? error.message : String(error);
    }

    if (plan.drop) {
      // The operation took effect; the caller never learns it.
      record.fault = 'drop';
      request.socket.destroy();
      return;
    }
    if (plan.delay?.phase === 'afterHandling') await this.sleep(plan.delay.ms, record);
    record.status = answer.status;
    if (!response.destroyed) reply(response, answer.status, answer.body);
  }

  private route(method: string, path: string): CalypsoRoute {
    const { pathPrefix, routes } = this.deps;
    const local = path.startsWith(`${pathPrefix}/`) ? path.slice(pathPrefix.length) : undefined;
    const candidates = routes.filter((r) => r.path === local);
    const found = candidates.find((r) => r.method === method);
    if (found) return found;
    if (candidates.length > 0) {
      throw new CalypsoError(ERROR_CODES.badRequest, `Method ${method} is not supported`, 405);
    }
    throw new CalypsoError(ERROR_CODES.notFound, `No endpoint ${method} ${path}`, 404);
  }

  private errorReply(error: unknown): HttpReply {
    const traceId = this.deps.ids.traceId();
    if (error instanceof CalypsoError) {
      return {
        status: error.httpStatus,
        body: toJson({
          errorCode: error.errorCode,
          message: error.message,
          traceId,
          ...(error.detail !== undefined ? { sandboxDetail: error.detail } : {}),
        }),
      };
    }
    this.deps.onInternalError('Calypso operation', error);
    return {
      status: 500,
      body: toJson({ errorCode: ERROR_CODES.internal, message: 'Internal error', traceId }),
    };
  }

  private sleep(ms: number, record: RecordedRequest): Promise<void> {
    record.fault ??= 'delay';
    return new Promise((resolve) => {
      const release = () => {
        clearTimeout(timer);
        this.pendingDelays.delete(release);
        resolve();
      };
      const timer = setTimeout(release, ms);
      this.pendingDelays.add(release);
    });
  }
}

function header(request: http.IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function checkContentType(request: http.IncomingMessage): void {
  const type = header(request, 'content-type') ?? '';
  if (!/^application\/json\s*(;.*)?$/i.test(type)) {
    throw badRequest('Content-Type must be application/json');
  }
}

function reply(response: http.ServerResponse, status: number, body: string): void {
  response.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
  });
  response.end(body);
}

/** The whole body, or undefined when it is larger than the limit. */
async function readBody(request: http.IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
