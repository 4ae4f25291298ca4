/**
 * The envelope of Calypso's webhook events: the fields we read, leniently (as the response
 * schemas are). A body that does not fit is described, not thrown, so a signed event we do not
 * understand is still stored.
 */
import * as z from 'zod/mini';
import { parseJsonLossless } from './json.js';

/** A JSON number arrives as its text; ids may also be strings. */
const idText = z.pipe(
  z.union([z.string(), z.number()]),
  z.transform((v) => String(v)),
);
const optionalText = z.optional(z.nullable(z.union([z.string(), z.number(), z.boolean()])));
const webhookEnvelopeSchema = z.object({
  id: idText,
  requestId: z.optional(z.nullable(z.string())),
  createdDate: optionalText,
  eventType: z.optional(z.nullable(z.string())),
  data: z.optional(
    z.nullable(
      z.object({
        type: z.optional(z.nullable(z.string())),
        idempotencyKey: z.optional(z.nullable(z.string())),
        payoutStatus: z.optional(z.nullable(z.string())),
        externalId: optionalText,
        hash: z.optional(z.nullable(z.string())),
        message: z.optional(z.nullable(z.string())),
        validationStatus: z.optional(z.nullable(z.string())),
        dealWithdrawalId: optionalText,
        parentExternalId: optionalText,
      }),
    ),
  ),
});
export type WebhookEnvelope = z.infer<typeof webhookEnvelopeSchema>;

/** The envelope of a webhook's raw body, or what is wrong with it. */
export function parseWebhookEnvelope(rawBody: string): {
  envelope?: WebhookEnvelope;
  problem?: string;
} {
  try {
    const parsed = webhookEnvelopeSchema.safeParse(parseJsonLossless(rawBody));
    if (parsed.success) return { envelope: parsed.data };
    return {
      problem: parsed.error.issues
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; '),
    };
  } catch (err) {
    return { problem: `not JSON: ${(err as Error).message}` };
  }
}
