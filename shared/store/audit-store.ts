/** Each payout's audit trail: every transition, with time, cause and actor, in its partition. */
import { randomBytes } from 'node:crypto';
import { SYSTEM_ACTORS } from '../domain/identity.js';
import type { AuditEntry } from '../domain/payout.js';
import { toItem, type Item } from './attributes.js';
import { keys, recordOf } from './keys.js';
import type { Page, TableClient } from './table-client.js';

export interface AuditStore {
  /** Appends entries to payouts' audit trails. */
  appendAudit(entries: AuditEntry[]): Promise<void>;
  listAudit(
    payoutId: string,
    options: { limit: number; cursor?: string },
  ): Promise<Page<AuditEntry>>;
}

/** An audit item; the actor defaults to the system part named by the cause. */
export function auditItem(entry: AuditEntry, unique = randomBytes(6).toString('hex')): Item {
  return toItem({
    ...keys.audit(entry.payoutId, entry.at, unique),
    type: 'audit',
    ...entry,
    actor: entry.actor ?? SYSTEM_ACTORS[entry.cause],
  });
}

export class DynamoAuditStore implements AuditStore {
  constructor(private readonly table: TableClient) {}

  async appendAudit(entries: AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.table.batchWrite(
      entries.map((entry) => ({ PutRequest: { Item: auditItem(entry) } })),
    );
  }

  async listAudit(
    payoutId: string,
    options: { limit: number; cursor?: string },
  ): Promise<Page<AuditEntry>> {
    const partition = keys.payoutPartition(payoutId);
    return this.table.queryPage(
      {
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
        ExpressionAttributeValues: { ':pk': { S: partition }, ':prefix': { S: keys.auditPrefix } },
      },
      {
        ...options,
        shape: { attributes: { PK: { equals: partition }, SK: { prefix: keys.auditPrefix } } },
      },
      (item) => recordOf<AuditEntry>(item),
    );
  }
}
