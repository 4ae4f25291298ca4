/**
 * Treasury controls outside any one payout: owners' rolling daily limits, the emergency pause, and
 * Calypso's fee percentage last seen (the funds estimate).
 */
import { Decimal } from '../domain/money.js';
import { fromItem, toItem } from './attributes.js';
import { ExpressionBuilder } from './expressions.js';
import { keys, recordOf } from './keys.js';
import type { TableClient, TableKey } from './table-client.js';

/** The emergency pause of all submission. */
export interface PauseRecord {
  paused: boolean;
  by: string;
  session?: string;
  reason?: string;
  at: string;
  /** Every pause and resume, newest last. */
  history?: Omit<PauseRecord, 'history'>[];
}

/** A payout's amount to count against its owner's daily limit in the currency. */
export interface LimitReservation {
  owner: string;
  currency: string;
  payoutId: string;
  amount: Decimal;
  limit: Decimal;
  now: Date;
}

export interface ControlStore {
  /**
   * Adds a payout's amount to its owner's rolling 24-hour total in the currency, if the total
   * stays within `limit`; idempotent per payout.
   */
  reserveLimit(input: LimitReservation): Promise<{ ok: true } | { ok: false; used: Decimal }>;
  /** Gives a payout's amount back to its owner's daily allowance (cancelled, rejected, failed). */
  releaseLimit(owner: string, currency: string, payoutId: string): Promise<void>;
  /** Calypso's fee percentage last seen on a payout of this currency and kind (decimal text). */
  getFeeSeen(currency: string, kind: string): Promise<string | undefined>;
  putFeeSeen(currency: string, kind: string, percentage: string, at: string): Promise<void>;
  /** The emergency pause: whether all submission to Calypso is stopped, and by whom. */
  getPause(): Promise<PauseRecord | undefined>;
  /** Sets the pause; false when it already was in that position (nothing changed). */
  setPause(record: PauseRecord): Promise<boolean>;
}

/** The rolling 24-hour total of one owner in one currency (policy dailyLimit). */
interface LimitItem {
  version: number;
  entries: { payoutId: string; amount: string; at: string }[];
}

export class DynamoControlStore implements ControlStore {
  constructor(private readonly table: TableClient) {}

  /**
   * One item per owner and currency, written with a version check, so concurrent payouts that
   * fit alone but not together cannot both pass.
   */
  async reserveLimit(
    input: LimitReservation,
  ): Promise<{ ok: true } | { ok: false; used: Decimal }> {
    const key = keys.limit(input.owner, input.currency);
    const since = new Date(input.now.getTime() - 24 * 3_600_000).toISOString();
    for (let attempt = 0; attempt < 60; attempt++) {
      const item = await this.readLimit(key);
      const entries = (item?.entries ?? []).filter((e) => e.at > since);
      if (entries.some((e) => e.payoutId === input.payoutId)) return { ok: true };
      const used = Decimal.sum(entries.map((e) => Decimal.parse(e.amount)));
      if (used.add(input.amount).compare(input.limit) > 0) return { ok: false, used };
      const written = await this.writeLimit(key, item?.version, [
        ...entries,
        { payoutId: input.payoutId, amount: input.amount.toString(), at: input.now.toISOString() },
      ]);
      if (written) return { ok: true };
      await this.table.sleep(Math.min(200, 5 * 2 ** Math.min(attempt, 5)) * Math.random());
    }
    throw new Error(`limit counter ${key.PK} too contended`);
  }

  async releaseLimit(owner: string, currency: string, payoutId: string): Promise<void> {
    const key = keys.limit(owner, currency);
    for (let attempt = 0; attempt < 60; attempt++) {
      const item = await this.readLimit(key);
      if (!item?.entries.some((e) => e.payoutId === payoutId)) return;
      const kept = item.entries.filter((e) => e.payoutId !== payoutId);
      if (await this.writeLimit(key, item.version, kept)) return;
      await this.table.sleep(Math.min(200, 5 * 2 ** Math.min(attempt, 5)) * Math.random());
    }
    throw new Error(`limit counter ${key.PK} too contended`);
  }

  private async readLimit(key: TableKey): Promise<LimitItem | undefined> {
    const item = await this.table.get(key, true);
    return item ? (fromItem(item) as unknown as LimitItem) : undefined;
  }

  private async writeLimit(
    key: TableKey,
    version: number | undefined,
    entries: LimitItem['entries'],
  ): Promise<boolean> {
    const expr = new ExpressionBuilder();
    const written = await this.table.putIf({
      Item: toItem({ ...key, type: 'limit', entries, version: (version ?? 0) + 1 }),
      ConditionExpression:
        version === undefined
          ? 'attribute_not_exists(PK)'
          : `${expr.name('version')} = ${expr.value(version)}`,
      ...expr.attributes(),
    });
    return written.applied;
  }

  async getFeeSeen(currency: string, kind: string): Promise<string | undefined> {
    const item = await this.table.get(keys.feeSeen(currency, kind));
    const record = item ? recordOf<{ percentage?: unknown }>(item) : undefined;
    return typeof record?.percentage === 'string' ? record.percentage : undefined;
  }

  async putFeeSeen(currency: string, kind: string, percentage: string, at: string): Promise<void> {
    await this.table.put({
      Item: toItem({ ...keys.feeSeen(currency, kind), type: 'control', percentage, at }),
    });
  }

  async getPause(): Promise<PauseRecord | undefined> {
    const item = await this.table.get(keys.pause(), true);
    return item ? recordOf<PauseRecord>(item) : undefined;
  }

  /** Each change is kept in the item's history (newest last), the audit trail of the pause. */
  async setPause(record: PauseRecord): Promise<boolean> {
    const expr = new ExpressionBuilder();
    const paused = expr.name('paused');
    const history = expr.name('history');
    const { paused: to, ...rest } = record;
    const sets = Object.entries({ ...rest, paused: to, type: 'control' }).map(
      ([k, v]) => `${expr.name(k)} = ${expr.value(v)}`,
    );
    const removed = (['session', 'reason'] as const).filter((k) => record[k] === undefined);
    const written = await this.table.updateIf({
      Key: toItem(keys.pause()),
      UpdateExpression:
        `SET ${sets.join(', ')}, ${history} = list_append(if_not_exists(${history}, ${expr.value([])}), ${expr.value([record])})` +
        (removed.length ? ` REMOVE ${removed.map((k) => expr.name(k)).join(', ')}` : ''),
      ConditionExpression: record.paused
        ? `attribute_not_exists(${paused}) OR ${paused} = ${expr.value(false)}`
        : `${paused} = ${expr.value(true)}`,
      ...expr.attributes(),
    });
    return written.applied;
  }
}
