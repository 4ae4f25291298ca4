/**
 * Every store of the table behind one object, for callers that take the whole repository; each
 * method is its record kind's store's (shared/store/*-store.ts); use cases type it by the store
 * interfaces they call.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

import { DynamoIdempotencyStore, type IdempotencyStore } from './idempotency-store.js';
import { DynamoPayoutStore, type PayoutStore } from './payouts-store.js';
import { DynamoWithdrawalStore, type WithdrawalStore } from './withdrawals-store.js';
import { DynamoAuditStore, type AuditStore } from './audit-store.js';
import { DynamoWebhookEventStore, type WebhookEventStore } from './webhook-events-store.js';
import { DynamoControlStore, type ControlStore } from './controls-store.js';
import { TableClient, type TableClientOptions } from './table-client.js';

/** Each record kind's store over one table client. */
export class PayoutRepository
  implements
    IdempotencyStore,
    PayoutStore,
    WithdrawalStore,
    AuditStore,
    WebhookEventStore,
    ControlStore
{
  private readonly idempotency: IdempotencyStore;
  private readonly payouts: PayoutStore;
  private readonly withdrawals: WithdrawalStore;
  private readonly audit: AuditStore;
  private readonly webhookEvents: WebhookEventStore;
  private readonly controls: ControlStore;

  constructor(
    db: DynamoDBClient,
    readonly tableName: string,
    options: TableClientOptions = {},
  ) {
    const table = new TableClient(db, tableName, options);
    this.idempotency = new DynamoIdempotencyStore(table);
    this.payouts = new DynamoPayoutStore(table);
    this.withdrawals = new DynamoWithdrawalStore(table);
    this.audit = new DynamoAuditStore(table);
    this.webhookEvents = new DynamoWebhookEventStore(table);
    this.controls = new DynamoControlStore(table);
  }

  // ---- IdempotencyStore ----

  claimIdempotency: IdempotencyStore['claimIdempotency'] = (...args) =>
    this.idempotency.claimIdempotency(...args);
  getIdempotency: IdempotencyStore['getIdempotency'] = (...args) =>
    this.idempotency.getIdempotency(...args);
  takeOverIdempotency: IdempotencyStore['takeOverIdempotency'] = (...args) =>
    this.idempotency.takeOverIdempotency(...args);
  releaseIdempotency: IdempotencyStore['releaseIdempotency'] = (...args) =>
    this.idempotency.releaseIdempotency(...args);

  // ---- PayoutStore ----

  writePayoutParts: PayoutStore['writePayoutParts'] = (...args) =>
    this.payouts.writePayoutParts(...args);
  commitPayout: PayoutStore['commitPayout'] = (...args) => this.payouts.commitPayout(...args);
  getPayout: PayoutStore['getPayout'] = (...args) => this.payouts.getPayout(...args);
  getPayoutWithBatches: PayoutStore['getPayoutWithBatches'] = (...args) =>
    this.payouts.getPayoutWithBatches(...args);
  getBatch: PayoutStore['getBatch'] = (...args) => this.payouts.getBatch(...args);
  beginSubmission: PayoutStore['beginSubmission'] = (...args) =>
    this.payouts.beginSubmission(...args);
  updateBatch: PayoutStore['updateBatch'] = (...args) => this.payouts.updateBatch(...args);
  setPayoutState: PayoutStore['setPayoutState'] = (...args) => this.payouts.setPayoutState(...args);
  claimPromptLook: PayoutStore['claimPromptLook'] = (...args) =>
    this.payouts.claimPromptLook(...args);
  setPayoutStuck: PayoutStore['setPayoutStuck'] = (...args) => this.payouts.setPayoutStuck(...args);
  listPayouts: PayoutStore['listPayouts'] = (...args) => this.payouts.listPayouts(...args);
  resolveProviderKey: PayoutStore['resolveProviderKey'] = (...args) =>
    this.payouts.resolveProviderKey(...args);
  resolveProviderId: PayoutStore['resolveProviderId'] = (...args) =>
    this.payouts.resolveProviderId(...args);
  putProviderId: PayoutStore['putProviderId'] = (...args) => this.payouts.putProviderId(...args);
  listDueBatches: PayoutStore['listDueBatches'] = (...args) => this.payouts.listDueBatches(...args);
  addApproval: PayoutStore['addApproval'] = (...args) => this.payouts.addApproval(...args);
  fenceForCancel: PayoutStore['fenceForCancel'] = (...args) => this.payouts.fenceForCancel(...args);
  liftCancelFence: PayoutStore['liftCancelFence'] = (...args) =>
    this.payouts.liftCancelFence(...args);
  listPendingApproval: PayoutStore['listPendingApproval'] = (...args) =>
    this.payouts.listPendingApproval(...args);
  claimRetry: PayoutStore['claimRetry'] = (...args) => this.payouts.claimRetry(...args);
  addRetriedBy: PayoutStore['addRetriedBy'] = (...args) => this.payouts.addRetriedBy(...args);

  // ---- WithdrawalStore ----

  listBatchWithdrawals: WithdrawalStore['listBatchWithdrawals'] = (...args) =>
    this.withdrawals.listBatchWithdrawals(...args);
  listWithdrawals: WithdrawalStore['listWithdrawals'] = (...args) =>
    this.withdrawals.listWithdrawals(...args);
  findBatchWithdrawalByExternalId: WithdrawalStore['findBatchWithdrawalByExternalId'] = (...args) =>
    this.withdrawals.findBatchWithdrawalByExternalId(...args);
  findWithdrawalsByExternalId: WithdrawalStore['findWithdrawalsByExternalId'] = (...args) =>
    this.withdrawals.findWithdrawalsByExternalId(...args);
  updateWithdrawals: WithdrawalStore['updateWithdrawals'] = (...args) =>
    this.withdrawals.updateWithdrawals(...args);
  updateWithdrawal: WithdrawalStore['updateWithdrawal'] = (...args) =>
    this.withdrawals.updateWithdrawal(...args);

  // ---- AuditStore ----

  appendAudit: AuditStore['appendAudit'] = (...args) => this.audit.appendAudit(...args);
  listAudit: AuditStore['listAudit'] = (...args) => this.audit.listAudit(...args);

  // ---- WebhookEventStore ----

  putWebhookEvent: WebhookEventStore['putWebhookEvent'] = (...args) =>
    this.webhookEvents.putWebhookEvent(...args);
  claimWebhookEvent: WebhookEventStore['claimWebhookEvent'] = (...args) =>
    this.webhookEvents.claimWebhookEvent(...args);
  releaseWebhookEvent: WebhookEventStore['releaseWebhookEvent'] = (...args) =>
    this.webhookEvents.releaseWebhookEvent(...args);
  getWebhookEvent: WebhookEventStore['getWebhookEvent'] = (...args) =>
    this.webhookEvents.getWebhookEvent(...args);
  getWebhookEventWithBatch: WebhookEventStore['getWebhookEventWithBatch'] = (...args) =>
    this.webhookEvents.getWebhookEventWithBatch(...args);
  settleUnclaimedWebhookEvent: WebhookEventStore['settleUnclaimedWebhookEvent'] = (...args) =>
    this.webhookEvents.settleUnclaimedWebhookEvent(...args);
  setWebhookVerdict: WebhookEventStore['setWebhookVerdict'] = (...args) =>
    this.webhookEvents.setWebhookVerdict(...args);
  listUnappliedWebhookEvents: WebhookEventStore['listUnappliedWebhookEvents'] = (...args) =>
    this.webhookEvents.listUnappliedWebhookEvents(...args);

  // ---- ControlStore ----

  reserveLimit: ControlStore['reserveLimit'] = (...args) => this.controls.reserveLimit(...args);
  releaseLimit: ControlStore['releaseLimit'] = (...args) => this.controls.releaseLimit(...args);
  getFeeSeen: ControlStore['getFeeSeen'] = (...args) => this.controls.getFeeSeen(...args);
  putFeeSeen: ControlStore['putFeeSeen'] = (...args) => this.controls.putFeeSeen(...args);
  getPause: ControlStore['getPause'] = (...args) => this.controls.getPause(...args);
  setPause: ControlStore['setPause'] = (...args) => this.controls.setPause(...args);
}
