/**
 * A scriptable stand-in for Calypso Pay on 127.0.0.1 (a free port). Every request's `Key` and
 * `Sign` are checked over the raw body exactly as Calypso does (400 `002`/`003` otherwise), every
 * request is recorded, and each test scripts the answers per path.
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { parseJsonLossless } from '../../shared/calypso/json.js';
import { signatureMatches } from '../../shared/calypso/signing.js';

export interface StubRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** The body parsed with numbers kept as their exact text; undefined when not JSON. */
  body: unknown;
}

export interface StubReply {
  /** Default 200. */
  status?: number;
  /** Sent as JSON (`JSON.stringify`). */
  body?: unknown;
  /** Sent byte for byte; wins over `body`. */
  rawBody?: string;
  headers?: Record<string, string>;
  /** Wait this long before answering. */
  delayMs?: number;
  /**
   * `reset`: drop the connection after reading the request; `hang`: never answer;
   * `stall-body`: send the status, headers and half the body, then nothing more.
   */
  action?: 'reset' | 'hang' | 'stall-body';
}

export type StubResponder = StubReply | ((request: StubRequest) => StubReply | Promise<StubReply>);

export class CalypsoStubServer {
  readonly requests: StubRequest[] = [];
  /** Requests being answered right now, and the most at once since the last reset. */
  inFlight = 0;
  maxInFlight = 0;

  private readonly scripts = new Map<string, StubResponder[]>();
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  private readonly server: Server;
  private address = '';

  private constructor(private readonly credentials: { apiKey: string; secretKey: string }) {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        void this.handle(
          {
            method: req.method ?? '',
            path: (req.url ?? '').split('?')[0] ?? '',
            headers: req.headers,
            rawBody: Buffer.concat(chunks).toString('utf8'),
            body: undefined,
          },
          res,
        );
      });
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  static async start(credentials: {
    apiKey: string;
    secretKey: string;
  }): Promise<CalypsoStubServer> {
    const stub = new CalypsoStubServer(credentials);
    await new Promise<void>((resolve, reject) => {
      stub.server.once('error', reject);
      stub.server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = stub.server.address() as AddressInfo;
    stub.address = `http://127.0.0.1:${port}`;
    return stub;
  }

  /** e.g. `http://127.0.0.1:41234` */
  get url(): string {
    return this.address;
  }

  /**
   * Scripts the answers to `path` (e.g. `/api/v1/payout/mass`), or to one method on it
   * (`DELETE /api/v1/subscription/webhook`): used in order, the last one repeating.
   */
  reply(route: string, ...responders: StubResponder[]): this {
    if (responders.length === 0) throw new Error('reply needs at least one responder');
    this.scripts.set(route, [...responders]);
    return this;
  }

  requestsTo(path: string): StubRequest[] {
    return this.requests.filter((request) => request.path === path);
  }

  /** Forgets scripts and recorded requests and drops open connections. */
  reset(): void {
    this.scripts.clear();
    this.requests.length = 0;
    this.inFlight = 0;
    this.maxInFlight = 0;
    this.dropEverything();
  }

  async close(): Promise<void> {
    this.dropEverything();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private dropEverything(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  private async handle(request: StubRequest, res: ServerResponse): Promise<void> {
    try {
      request.body = parseJsonLossless(request.rawBody);
    } catch {
      request.body = undefined;
    }
    this.requests.push(request);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    res.on('close', () => {
      this.inFlight -= 1;
    });

    const refusal = this.checkSignature(request);
    if (refusal) {
      send(res, refusal);
      return;
    }
    const responder = this.next(request);
    const reply =
      responder === undefined
        ? { status: 404, rawBody: `no reply scripted for ${request.method} ${request.path}` }
        : typeof responder === 'function'
          ? await responder(request)
          : responder;
    if (reply.delayMs) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          resolve();
        }, reply.delayMs);
        this.timers.add(timer);
      });
    }
    if (reply.action === 'hang') return;
    if (reply.action === 'reset') {
      res.socket?.destroy();
      return;
    }
    if (reply.action === 'stall-body') {
      const text = bodyText(reply);
      res.writeHead(reply.status ?? 200, {
        'Content-Type': 'application/json',
        'Content-Length': String(Buffer.byteLength(text)),
        ...reply.headers,
      });
      res.write(text.slice(0, Math.floor(text.length / 2)));
      return;
    }
    send(res, reply);
  }

  private checkSignature(request: StubRequest): StubReply | undefined {
    const key = request.headers['key'];
    const signature = request.headers['sign'];
    if (key !== this.credentials.apiKey) {
      return { status: 400, body: { errorCode: '002', message: 'Invalid api key' } };
    }
    if (
      typeof signature !== 'string' ||
      !signatureMatches(request.rawBody, signature, this.credentials.secretKey)
    ) {
      return { status: 400, body: { errorCode: '003', message: 'Wrong sign' } };
    }
    if (!(request.headers['content-type'] ?? '').startsWith('application/json')) {
      return { status: 400, body: { errorCode: '001', message: 'Unsupported content type' } };
    }
    return undefined;
  }

  private next(request: StubRequest): StubResponder | undefined {
    const queue =
      this.scripts.get(`${request.method} ${request.path}`) ?? this.scripts.get(request.path);
    if (!queue || queue.length === 0) return undefined;
    return queue.length > 1 ? queue.shift() : queue[0];
  }
}

function bodyText(reply: StubReply): string {
  return reply.rawBody ?? (reply.body === undefined ? '' : JSON.stringify(reply.body));
}

function send(res: ServerResponse, reply: StubReply): void {
  const text = bodyText(reply);
  res.writeHead(reply.status ?? 200, {
    'Content-Type': 'application/json',
    // A fresh connection per request: no test ever reuses a socket another test dropped.
    Connection: 'close',
    ...reply.headers,
  });
  res.end(text);
}
