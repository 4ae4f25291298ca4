/**
 * Builds the API's OpenAPI 3.1 document from the route list and the same zod schemas that shape
 * the requests and responses, so the contract cannot drift from the code. Build tooling only
 * (`npm run openapi` writes openapi.json; the tests compare): never bundled into a function.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod/mini';
import { fieldErrorSchema, problemSchema } from '../shared/http/schemas.js';
import {
  balancesSchema,
  batchSchema,
  dryRunSchema,
  optionalReasonRequestSchema,
  pauseSchema,
  payoutEventPageSchema,
  payoutEventSchema,
  payoutPageSchema,
  payoutSummaryPageSchema,
  payoutSummarySchema,
  payoutRequestSchema,
  payoutSchema,
  reasonRequestSchema,
  recipientRequestSchema,
  webhookReceiptSchema,
  withdrawalPageSchema,
  withdrawalSchema,
} from '../shared/payouts/schemas.js';
import { PROJECT_ROOT } from './functions.js';
import { ROUTES, type ResponseContract, type Route } from './routes.js';

/** The committed document: served by the local stack, published by the CDK stack. */
export const OPENAPI_FILE = join(PROJECT_ROOT, 'openapi.json');

/** Every schema the document names, by its component name. */
export const COMPONENT_SCHEMAS: Readonly<Record<string, z.ZodMiniType>> = {
  Problem: problemSchema,
  FieldError: fieldErrorSchema,
  PayoutRequest: payoutRequestSchema,
  RecipientRequest: recipientRequestSchema,
  ReasonRequest: reasonRequestSchema,
  OptionalReasonRequest: optionalReasonRequestSchema,
  Payout: payoutSchema,
  Batch: batchSchema,
  Withdrawal: withdrawalSchema,
  WithdrawalPage: withdrawalPageSchema,
  PayoutPage: payoutPageSchema,
  PayoutSummary: payoutSummarySchema,
  PayoutSummaryPage: payoutSummaryPageSchema,
  PayoutEvent: payoutEventSchema,
  PayoutEventPage: payoutEventPageSchema,
  DryRun: dryRunSchema,
  Balances: balancesSchema,
  Pause: pauseSchema,
  WebhookReceipt: webhookReceiptSchema,
};

export const PROBLEM_MEDIA_TYPE = 'application/problem+json';
const IDEMPOTENCY_KEY_PATTERN = '^[A-Za-z0-9._:-]{8,128}$';

type Json = Record<string, unknown>;

/** JSON Schemas of every component; references between them point into components. */
function componentSchemas(): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(COMPONENT_SCHEMAS)) registry.add(schema, { id });
  // `input`: a response object stays open to new fields; a strict request object stays closed.
  const { schemas } = z.toJSONSchema(registry, {
    io: 'input',
    uri: (id) => `#/components/schemas/${id}`,
  });
  return Object.fromEntries(
    Object.entries(schemas).map(([id, schema]) => {
      const { $schema: _schema, $id: _id, ...rest } = schema as Json;
      return [id, rest];
    }),
  );
}

function ref(schema: z.ZodMiniType): Json {
  const name = Object.entries(COMPONENT_SCHEMAS).find(([, s]) => s === schema)?.[0];
  if (!name) throw new Error('a route uses a schema missing from COMPONENT_SCHEMAS');
  return { $ref: `#/components/schemas/${name}` };
}

function operationId(route: Route): string {
  const words = route.path
    .split('/')
    .filter(Boolean)
    .map((part) => (part.startsWith('{') ? `by-${part.slice(1, -1)}` : part))
    .flatMap((part) => part.split('-'));
  return [route.method.toLowerCase(), ...words]
    .map((word, i) => (i === 0 ? word : word[0]!.toUpperCase() + word.slice(1)))
    .join('');
}

function parameters(route: Route): Json[] {
  const out: Json[] = [];
  for (const [, name] of route.path.matchAll(/\{([^}]+)\}/g)) {
    out.push({
      name,
      in: 'path',
      required: true,
      description: 'The payout id (a UUID).',
      schema: { type: 'string' },
    });
  }
  for (const q of route.contract.query ?? []) {
    out.push({
      name: q.name,
      in: 'query',
      required: q.required === true,
      description: q.description,
      schema: q.values ? { type: 'string', enum: q.values } : { type: 'string' },
    });
  }
  if (route.contract.idempotencyKey) {
    out.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: route.contract.idempotencyKey === 'required',
      description:
        route.contract.idempotencyKey === 'required'
          ? "The caller's key for this payout, scoped by owner: the same key and body again is the same payout."
          : 'Accepted and ignored: the retry is the same whatever the key.',
      schema: { type: 'string', pattern: IDEMPOTENCY_KEY_PATTERN },
      example: 'payroll-2030-01',
    });
  }
  if (route.contract.calypsoSignature) {
    for (const [name, description] of [
      ['Key', "The subscription's public key."],
      ['Sign', 'The signature of the raw body with that key.'],
    ] as const) {
      out.push({ name, in: 'header', required: true, description, schema: { type: 'string' } });
    }
  }
  out.push({ $ref: '#/components/parameters/CorrelationId' });
  return out;
}

function requestBody(route: Route): Json | undefined {
  const body = route.contract.body;
  if (body) {
    return {
      required: body.required,
      content: {
        'application/json': {
          schema: ref(body.schema),
          ...(body.example !== undefined ? { example: body.example } : {}),
        },
      },
    };
  }
  if (route.contract.calypsoSignature) {
    return {
      required: true,
      description: "Calypso's event, exactly as signed.",
      content: { 'application/json': { schema: { type: 'object' } } },
    };
  }
  return undefined;
}

function response(status: number, contract: ResponseContract): Json {
  const bodies = Array.isArray(contract.body) ? contract.body : [contract.body];
  const schema = bodies.length === 1 ? ref(bodies[0]!) : { oneOf: bodies.map(ref) };
  const headers: Json = { 'x-correlation-id': { $ref: '#/components/headers/CorrelationId' } };
  for (const name of contract.headers ?? []) {
    headers[name === 'location' ? 'Location' : 'Retry-After'] = {
      $ref: `#/components/headers/${name === 'location' ? 'Location' : 'RetryAfter'}`,
    };
  }
  return {
    description: contract.description,
    headers,
    content: { [status >= 400 ? PROBLEM_MEDIA_TYPE : 'application/json']: { schema } },
  };
}

function operation(route: Route): Json {
  const body = requestBody(route);
  return {
    operationId: operationId(route),
    summary: route.contract.summary,
    ...(route.contract.description ? { description: route.contract.description } : {}),
    ...(route.auth === 'none' ? { security: [] } : {}),
    parameters: parameters(route),
    ...(body ? { requestBody: body } : {}),
    responses: Object.fromEntries(
      Object.entries(route.contract.responses)
        .sort(([a], [b]) => Number(a) - Number(b))
        .map(([status, contract]) => [status, response(Number(status), contract)]),
    ),
  };
}

export function buildOpenApiDocument(
  options: { version: string; routes?: readonly Route[] } = { version: '0.0.0' },
): Json {
  const paths: Record<string, Json> = {};
  for (const route of options.routes ?? ROUTES) {
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operation(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Calypso mass payouts',
      version: options.version,
      description:
        'Internal API for mass crypto payouts through Calypso Pay. JSON in and out; amounts are decimal strings; every error is application/problem+json. Callers sign with AWS SigV4 (service execute-api).',
    },
    security: [{ sigv4: [] }],
    paths,
    components: {
      securitySchemes: {
        sigv4: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description:
            'AWS Signature Version 4 for the service `execute-api` (IAM authorization of API Gateway).',
        },
      },
      parameters: {
        CorrelationId: {
          name: 'x-correlation-id',
          in: 'header',
          required: false,
          description: 'Your id for this request (1 to 128 of A-Z a-z 0-9 . _ : -), echoed back.',
          schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$' },
        },
      },
      headers: {
        CorrelationId: {
          description: "The request's correlation id: the caller's, or one made up.",
          schema: { type: 'string' },
        },
        Location: { description: 'The payout: `/payouts/{id}`.', schema: { type: 'string' } },
        RetryAfter: {
          description: 'Seconds to wait before trying again.',
          schema: { type: 'string' },
        },
      },
      schemas: componentSchemas(),
    },
  };
}

/** The version the document states: the package's. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** The document as committed: stable key order, two-space indent, a final newline. */
export function openApiText(version: string): string {
  return `${JSON.stringify(buildOpenApiDocument({ version }), null, 2)}\n`;
}
