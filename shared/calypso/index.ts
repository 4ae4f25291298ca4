/** The Calypso Pay client and the helpers that go with it. */
export {
  ALL_WITHDRAWAL_STATE_NAMES,
  CalypsoClient,
  type CalypsoClientConfig,
  type CalypsoClientDeps,
  type CreateMassPayoutInput,
  type CreatePayoutInput,
  type CreateWebhookSubscriptionInput,
  type ListWithdrawalsOptions,
  type MassPayoutRecipient,
  type PayoutLookup,
  type WithdrawalFilter,
} from './client.js';
export {
  CalypsoAuthError,
  CalypsoError,
  CalypsoIdempotencyKeyExistsError,
  CalypsoNotFoundError,
  CalypsoUnknownOutcomeError,
  CalypsoValidationError,
  type CalypsoClientErrorCode,
  type CalypsoErrorDetails,
  type CalypsoOperation,
} from './errors.js';
export { JsonNumberText, parseJsonLossless, stringifyForCalypso } from './json.js';
export {
  decimalFromJsonNumberText,
  type Account,
  type AccountBalance,
  type CalypsoErrorBody,
  type MassPayout,
  type MassPayoutState,
  type SinglePayout,
  type WebhookSubscription,
  type Withdrawal,
  type WithdrawalError,
  type WithdrawalErrorStatus,
  type WithdrawalPage,
  type WithdrawalState,
} from './schemas.js';
export { sign, signatureMatches } from './signing.js';
export {
  verifyWebhookSignature,
  type WebhookKey,
  type WebhookSignatureVerdict,
} from './webhook-signature.js';
