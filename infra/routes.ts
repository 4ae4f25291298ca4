/**
 * Every API route, in one list: the CDK stack builds API Gateway from it, the local stack serves
 * the same handlers from it, and the OpenAPI document (openapi.json) is generated from each
 * route's contract: its parameters, body and every status it can answer.
 */
import type * as z from 'zod/mini';
import { PAYOUT_STATES } from '../shared/domain/payout.js';
import { problemSchema } from '../shared/http/schemas.js';
import {
  balancesSchema,
  dryRunSchema,
  optionalReasonRequestSchema,
  pauseSchema,
  payoutEventPageSchema,
  payoutPageSchema,
  payoutRequestSchema,
  payoutSchema,
  payoutSummaryPageSchema,
  reasonRequestSchema,
  webhookReceiptSchema,
  withdrawalPageSchema,
} from '../shared/payouts/schemas.js';

/** A response: its JSON body (problem+json for every error) and the headers that matter. */
export interface ResponseContract {
  description: string;
  /** One schema, or several the body may be (`oneOf`). */
  body: z.ZodMiniType | readonly z.ZodMiniType[];
  headers?: readonly ('location' | 'retry-after')[];
}

export interface QueryParameter {
  name: string;
  description: string;
  required?: boolean;
  /** A closed set of values, when the parameter has one. */
  values?: readonly string[];
}

export interface RouteContract {
  summary: string;
  description?: string;
  query?: readonly QueryParameter[];
  /** The caller's `Idempotency-Key` header. */
  idempotencyKey?: 'required' | 'optional';
  /** Calypso's `Key` and `Sign` headers (the webhook). */
  calypsoSignature?: true;
  body?: { schema: z.ZodMiniType; required: boolean; example?: unknown };
  responses: Readonly<Record<number, ResponseContract>>;
}

export interface Route {
  method: 'GET' | 'POST';
  /** API Gateway path with `{param}` placeholders. */
  path: string;
  /** File under functions/ (without extension) that exports `handler`. */
  handler: string;
  /** `iam`: internal callers signed with SigV4; `none`: Calypso's webhook (signature checked inside). */
  auth: 'iam' | 'none';
  contract: RouteContract;
}

const problem = (description: string, headers?: ResponseContract['headers']): ResponseContract => ({
  description,
  body: problemSchema,
  ...(headers ? { headers } : {}),
});

/** What API Gateway and every IAM route's handler may answer, whatever the route. */
const IAM_ERRORS = {
  401: problem('No caller identity reached the function.'),
  403: problem(
    'API Gateway refused the request: no SigV4 signature, a signature not valid, or no `execute-api:Invoke` on this route for the caller.',
  ),
  429: problem('Throttled by API Gateway: slow down and try again.', ['retry-after']),
  500: problem('Our failure: quote the correlationId when reporting it.'),
} as const;

/** What a route reading a JSON body may answer. */
const BODY_ERRORS = {
  400: problem('The body is not valid JSON (or is empty).'),
  413: problem('The body is larger than the route accepts.'),
  415: problem('The body is not sent as application/json.'),
} as const;

const NOT_FOUND = {
  404: problem('No such payout, or one the caller may not read (the same answer either way).'),
} as const;

const PAGING: readonly QueryParameter[] = [
  { name: 'limit', description: 'Items per page, 1 to 1000 (default 100).' },
  { name: 'cursor', description: 'The `cursor` of the previous page, as returned.' },
];
const BAD_PAGING = problem('`limit` or `cursor` is not valid (each failing one is named).');

const REASON_ERRORS = {
  422: problem('`reason` is missing, too long or holds control characters.'),
} as const;

const payout = (description: string): ResponseContract => ({ description, body: payoutSchema });

/** POST /payouts: an example that the local stack accepts as it is. */
export const CREATE_PAYOUT_EXAMPLE = {
  currency: 'USDT',
  name: 'Payroll 2030-01',
  comment: 'January contractors',
  recipients: [
    {
      address: '0x52908400098527886e0f7030069857d2e4169ee7',
      amount: '125.50',
      externalId: 'contractor-17',
    },
    { address: '0x8617e340b3d01fa5f11f306f4090fd50e238070d', amount: '80' },
  ],
};

export const ROUTES: readonly Route[] = [
  {
    method: 'POST',
    path: '/payouts',
    handler: 'create-payout',
    auth: 'iam',
    contract: {
      summary: 'Create a payout',
      description:
        'Validates, stores and hands the payout to submission. The same owner, key and body again answers 200 with the same payout. `?dryRun=true` answers the plan and whether the balance covers it, storing nothing.',
      query: [
        {
          name: 'dryRun',
          description: '`true`: plan only, store nothing (the key is then optional).',
          values: ['true', 'false'],
        },
      ],
      idempotencyKey: 'required',
      body: { schema: payoutRequestSchema, required: true, example: CREATE_PAYOUT_EXAMPLE },
      responses: {
        200: {
          description: 'The same request again: the payout stored the first time; or the dry run.',
          body: [payoutSchema, dryRunSchema],
          headers: ['location'],
        },
        202: {
          description: 'Stored; submission to Calypso follows asynchronously.',
          body: payoutSchema,
          headers: ['location'],
        },
        ...BODY_ERRORS,
        400: problem('Malformed JSON, or the Idempotency-Key header missing or not valid.'),
        ...IAM_ERRORS,
        409: problem('The first request with this Idempotency-Key is still being written.', [
          'retry-after',
        ]),
        422: problem(
          'Fields not valid (each named), the key used with another body, an amount above the per-recipient maximum, or the daily limit exceeded.',
        ),
      },
    },
  },
  {
    method: 'GET',
    path: '/payouts',
    handler: 'list-payouts',
    auth: 'iam',
    contract: {
      summary: 'List payouts',
      description:
        "The caller's owner's payouts (an auditor's: everyone's), newest first. Payouts stored before the listing indexes existed are not listed.",
      query: [
        { name: 'state', description: 'Only payouts in this state.', values: PAYOUT_STATES },
        {
          name: 'stuck',
          description: '`true`: only payouts with a batch flagged stuck.',
          values: ['true', 'false'],
        },
        {
          name: 'createdAfter',
          description: 'Only payouts created after this ISO-8601 date-time (with a zone).',
        },
        ...PAGING,
      ],
      responses: {
        200: {
          description: 'A page of payouts, without their batches.',
          body: payoutSummaryPageSchema,
        },
        400: problem(
          '`state`, `stuck`, `createdAfter`, `limit` or `cursor` is not valid (each failing one is named).',
        ),
        ...IAM_ERRORS,
      },
    },
  },
  {
    method: 'GET',
    path: '/payouts/{id}',
    handler: 'get-payout',
    auth: 'iam',
    contract: {
      summary: 'Get a payout',
      description:
        'State, counts by withdrawal state, totals, fees, batches and validation errors.',
      responses: { 200: payout('The payout.'), ...IAM_ERRORS, ...NOT_FOUND },
    },
  },
  {
    method: 'GET',
    path: '/payouts/{id}/withdrawals',
    handler: 'list-withdrawals',
    auth: 'iam',
    contract: {
      summary: "List a payout's withdrawals",
      query: [
        { name: 'state', description: 'Only withdrawals in this state (e.g. `FAILED`).' },
        ...PAGING,
      ],
      responses: {
        200: { description: 'A page of withdrawals.', body: withdrawalPageSchema },
        400: problem('`state`, `limit` or `cursor` is not valid (each failing one is named).'),
        ...IAM_ERRORS,
        ...NOT_FOUND,
      },
    },
  },
  {
    method: 'GET',
    path: '/withdrawals',
    handler: 'find-withdrawals',
    auth: 'iam',
    contract: {
      summary: 'Find withdrawals by externalId',
      description: "The caller's own (an auditor's: everyone's), across payouts.",
      query: [
        { name: 'externalId', description: 'The externalId given.', required: true },
        ...PAGING,
      ],
      responses: {
        200: { description: 'A page of withdrawals.', body: withdrawalPageSchema },
        400: problem('`externalId` missing or too long, or `limit` or `cursor` not valid.'),
        ...IAM_ERRORS,
      },
    },
  },
  {
    method: 'GET',
    path: '/balances',
    handler: 'get-balances',
    auth: 'iam',
    contract: {
      summary: "The Calypso account's balances",
      responses: {
        200: { description: 'Balances per currency.', body: balancesSchema },
        403: IAM_ERRORS[403],
        429: IAM_ERRORS[429],
        500: problem('Our failure, or Calypso could not be read: quote the correlationId.'),
      },
    },
  },
  {
    method: 'POST',
    path: '/payouts/{id}/retry-failed',
    handler: 'retry-failed',
    auth: 'iam',
    contract: {
      summary: 'Retry the failed payments',
      description:
        'A new payout of exactly the payments Calypso confirms FAILED, once per payout whoever asks and with whatever key: later requests get the same retry (200).',
      idempotencyKey: 'optional',
      responses: {
        200: { ...payout('The retry payout, created earlier.'), headers: ['location'] },
        202: { ...payout('The retry payout, just created.'), headers: ['location'] },
        ...IAM_ERRORS,
        ...NOT_FOUND,
        409: problem('Not every payment of the payout is final yet.', ['retry-after']),
        422: problem('No payment of the payout failed.'),
        503: problem('Calypso could not be read to confirm the failures; nothing was retried.', [
          'retry-after',
        ]),
      },
    },
  },
  {
    method: 'GET',
    path: '/payouts/{id}/events',
    handler: 'list-events',
    auth: 'iam',
    contract: {
      summary: "A payout's audit trail",
      description: 'Every transition, oldest first, with its cause and actor.',
      query: PAGING,
      responses: {
        200: { description: 'A page of events.', body: payoutEventPageSchema },
        400: BAD_PAGING,
        ...IAM_ERRORS,
        ...NOT_FOUND,
      },
    },
  },
  {
    method: 'POST',
    path: '/payouts/{id}/approve',
    handler: 'approve-payout',
    auth: 'iam',
    contract: {
      summary: 'Approve a payout',
      description: 'One approval, by an approver who is not its creator (four-eyes).',
      responses: {
        200: payout('The payout with the approval counted.'),
        ...IAM_ERRORS,
        403: problem('Not an approver of this payout, or its creator.'),
        ...NOT_FOUND,
        409: problem(
          'Not awaiting approval, the window closed, already approved by the caller, or changed meanwhile.',
        ),
      },
    },
  },
  {
    method: 'POST',
    path: '/payouts/{id}/reject',
    handler: 'reject-payout',
    auth: 'iam',
    contract: {
      summary: 'Reject a payout',
      description: 'An approver refuses it; nothing is sent.',
      body: { schema: reasonRequestSchema, required: true },
      responses: {
        200: payout('The payout, cancelled.'),
        ...BODY_ERRORS,
        ...IAM_ERRORS,
        403: problem('Not an approver of this payout, or its creator.'),
        ...NOT_FOUND,
        409: problem('Not awaiting approval, or already cancelled.'),
        ...REASON_ERRORS,
      },
    },
  },
  {
    method: 'POST',
    path: '/payouts/{id}/cancel',
    handler: 'cancel-payout',
    auth: 'iam',
    contract: {
      summary: 'Cancel a payout',
      description: 'By its owner or an approver, while nothing of it has been sent to Calypso.',
      body: { schema: optionalReasonRequestSchema, required: false },
      responses: {
        200: payout('The payout, cancelled.'),
        ...BODY_ERRORS,
        ...IAM_ERRORS,
        403: problem('Neither its owner nor one of its approvers.'),
        ...NOT_FOUND,
        409: problem('Already cancelled, or part of it has been sent to Calypso.'),
        ...REASON_ERRORS,
      },
    },
  },
  {
    method: 'GET',
    path: '/approvals',
    handler: 'list-approvals',
    auth: 'iam',
    contract: {
      summary: "Payouts awaiting the caller's approval",
      description: "Never the caller's own.",
      query: [{ name: 'cursor', description: 'The `cursor` of the previous page, as returned.' }],
      responses: {
        200: { description: 'A page of payouts.', body: payoutPageSchema },
        400: problem('`cursor` is not valid.'),
        ...IAM_ERRORS,
      },
    },
  },
  {
    method: 'GET',
    path: '/admin/pause',
    handler: 'admin-pause',
    auth: 'iam',
    contract: {
      summary: 'Whether submission to Calypso is paused',
      responses: { 200: { description: 'The pause.', body: pauseSchema }, ...IAM_ERRORS },
    },
  },
  {
    method: 'POST',
    path: '/admin/pause',
    handler: 'admin-pause',
    auth: 'iam',
    contract: {
      summary: 'Pause all submission to Calypso',
      description: 'Operators only. Payouts are still accepted and tracked; nothing new is sent.',
      body: { schema: reasonRequestSchema, required: true },
      responses: {
        200: { description: 'The pause.', body: pauseSchema },
        ...BODY_ERRORS,
        ...IAM_ERRORS,
        403: problem('Not an operator.'),
        ...REASON_ERRORS,
      },
    },
  },
  {
    method: 'POST',
    path: '/admin/resume',
    handler: 'admin-pause',
    auth: 'iam',
    contract: {
      summary: 'Resume submission to Calypso',
      description: 'Operators only.',
      body: { schema: optionalReasonRequestSchema, required: false },
      responses: {
        200: { description: 'The pause, lifted.', body: pauseSchema },
        ...BODY_ERRORS,
        ...IAM_ERRORS,
        403: problem('Not an operator.'),
        ...REASON_ERRORS,
      },
    },
  },
  {
    method: 'POST',
    path: '/webhooks/calypso',
    handler: 'calypso-webhook',
    auth: 'none',
    contract: {
      summary: "Calypso's webhook",
      description:
        "Calypso only: no IAM; the `Key`/`Sign` signature over the raw body is checked. The body is Calypso's event, stored as received.",
      calypsoSignature: true,
      responses: {
        200: { description: 'Stored (or stored before).', body: webhookReceiptSchema },
        401: problem('The signature does not match the body for any configured key.'),
        403: problem('Blocked by the web ACL (rate per source, or a source not allowed).'),
        413: problem("The body is larger than API Gateway's limit."),
        429: problem("Throttled by the webhook's own API Gateway limit.", ['retry-after']),
        500: problem('Our failure: Calypso delivers again.'),
        503: problem('Another copy of this event is being applied: deliver it again later.', [
          'retry-after',
        ]),
      },
    },
  },
];

/** Matches a concrete path against a route path; returns its parameters or undefined. */
export function matchRoute(routePath: string, path: string): Record<string, string> | undefined {
  const want = routePath.split('/').filter(Boolean);
  const got = path.split('/').filter(Boolean);
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const segment = want[i]!;
    const value = got[i]!;
    if (segment.startsWith('{') && segment.endsWith('}')) {
      try {
        params[segment.slice(1, -1)] = decodeURIComponent(value);
      } catch {
        return undefined;
      }
    } else if (segment !== value) {
      return undefined;
    }
  }
  return params;
}
