/**
 * The shape of every error the API answers (RFC 9457 problem+json), as a schema: the OpenAPI
 * document is generated from it and tests parse real error responses with it.
 */
import * as z from 'zod/mini';

export const fieldErrorSchema = z.object({
  /** JSONPath of the field (`$.recipients[3].amount`), or `query:NAME` / `header:NAME`. */
  path: z.string(),
  message: z.string(),
});

/** Extensions (`payoutId`, `remaining`, `limit`) may be present: the object is open. */
export const problemSchema = z.looseObject({
  type: z.string(),
  title: z.string(),
  /** The HTTP status; absent only in API Gateway's fallback answers for response types it adds later. */
  status: z.optional(z.int()),
  detail: z.optional(z.string()),
  errors: z.optional(z.array(fieldErrorSchema)),
  /** Our own failures and API Gateway's answers carry it: quote it when reporting. */
  correlationId: z.optional(z.string()),
});

export type Problem = z.output<typeof problemSchema>;
