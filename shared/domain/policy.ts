/**
 * The payout policy: the controls a treasury puts in front of money, enforced by the service
 * itself so that a compromised or buggy internal caller cannot drain a wallet.
 *
 * One document per stage (`PAYOUT_POLICY`, CDK context `payoutPolicy`):
 *
 *   {
 *     "approvalTtlHours": 72,
 *     "operators": ["arn:aws:iam::111122223333:role/treasury-ops"],
 *     "rules": [
 *       { "owner": "*", "currency": "*", "approvalAbove": "0", "approvalsRequired": 1,
 *         "approvers": ["treasury"] },
 *       { "owner": "payroll", "currency": "USDT", "approvalAbove": "50000",
 *         "approvalsRequired": 2, "approvers": ["treasury"], "maxPerRecipient": "20000",
 *         "dailyLimit": "250000" }
 *     ]
 *   }
 *
 * For a payout, the most specific rule applies whole: its owner (a team name or a principal ARN)
 * and currency, then the owner for any currency, then any owner for the currency, then `*`/`*`.
 * With no policy (or no matching rule) nothing is held or limited. Amounts are decimal strings.
 * Pure: no I/O.
 */
import * as z from 'zod/mini';
import { normalizePrincipal, type AccessPolicy, type Caller } from './identity.js';
import { Decimal } from './money.js';

const decimalText = z.string().check(
  z.refine((s) => {
    try {
      return !Decimal.parse(s).isNegative();
    } catch {
      return false;
    }
  }, 'must be a non-negative decimal string such as "1000" or "0.5"'),
);

const ruleSchema = z.strictObject({
  owner: z.string().check(z.minLength(1)),
  currency: z.string().check(z.minLength(1)),
  approvalAbove: z.optional(decimalText),
  approvalsRequired: z.optional(z.union([z.literal(1), z.literal(2)])),
  approvers: z.optional(z.array(z.string().check(z.minLength(1)))),
  maxPerRecipient: z.optional(decimalText),
  dailyLimit: z.optional(decimalText),
});

const policySchema = z.strictObject({
  approvalTtlHours: z.optional(z.number().check(z.int(), z.gte(1), z.lte(24 * 30))),
  operators: z.optional(z.array(z.string().check(z.minLength(1)))),
  rules: z.array(ruleSchema),
});

export type PolicyRule = z.infer<typeof ruleSchema>;
export type PayoutPolicyDocument = z.infer<typeof policySchema>;

export const DEFAULT_APPROVAL_TTL_HOURS = 72;

/** Parses and checks a policy document; problems name the field (`PAYOUT_POLICY.rules[1].approvers`). */
export function parsePolicy(
  value: unknown,
  field = 'PAYOUT_POLICY',
): { policy?: PayoutPolicyDocument; problems: string[] } {
  const parsed = policySchema.safeParse(value);
  if (!parsed.success) {
    return {
      problems: parsed.error.issues.map(
        (i) =>
          `${field}${i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}: ${i.message}`,
      ),
    };
  }
  const problems: string[] = [];
  const seen = new Set<string>();
  parsed.data.rules.forEach((rule, i) => {
    const at = `${field}.rules[${i}]`;
    const scope = `${rule.owner}|${rule.currency}`;
    if (seen.has(scope))
      problems.push(`${at}: a second rule for owner ${rule.owner} and currency ${rule.currency}`);
    seen.add(scope);
    if (rule.approvalAbove !== undefined) {
      const required = rule.approvalsRequired ?? 1;
      if (!rule.approvers || rule.approvers.length === 0) {
        problems.push(`${at}.approvers: required with approvalAbove (who may approve)`);
      } else if (
        required === 2 &&
        rule.approvers.length === 1 &&
        rule.approvers[0]!.startsWith('arn:')
      ) {
        problems.push(`${at}.approvers: two approvals need at least two possible approvers`);
      }
    }
  });
  return { policy: parsed.data, problems };
}

/** What the policy asks of one payout. */
export interface PolicyDecision {
  /** Approvals needed before anything is sent (0: none). */
  approvalsRequired: number;
  /** Principals or team names that may approve. */
  approvers: string[];
  /** Each recipient (request index) whose amount is above maxPerRecipient. */
  overRecipientLimit: { index: number; amount: string; max: string }[];
  /** The owner's limit in the currency over the last 24 hours, if any. */
  dailyLimit?: Decimal;
}

export class PayoutPolicy {
  readonly approvalTtlMs: number;
  private readonly operators: string[];

  constructor(
    private readonly document: PayoutPolicyDocument | undefined,
    private readonly access: AccessPolicy,
  ) {
    this.approvalTtlMs = (document?.approvalTtlHours ?? DEFAULT_APPROVAL_TTL_HOURS) * 3_600_000;
    this.operators = document?.operators ?? [];
  }

  /** The most specific rule for an owner (`team:<name>` or a principal) and currency. */
  ruleFor(owner: string, currency: string): PolicyRule | undefined {
    const rules = this.document?.rules ?? [];
    const ownerMatches = (rule: PolicyRule) =>
      rule.owner === owner ||
      `team:${rule.owner}` === owner ||
      (rule.owner.startsWith('arn:') && normalizePrincipal(rule.owner) === owner);
    return (
      rules.find((r) => ownerMatches(r) && r.currency === currency) ??
      rules.find((r) => ownerMatches(r) && r.currency === '*') ??
      rules.find((r) => r.owner === '*' && r.currency === currency) ??
      rules.find((r) => r.owner === '*' && r.currency === '*')
    );
  }

  decide(
    owner: string,
    currency: string,
    total: Decimal,
    amounts: { index: number; amount: Decimal }[],
  ): PolicyDecision {
    const rule = this.ruleFor(owner, currency);
    const decision: PolicyDecision = {
      approvalsRequired: 0,
      approvers: [],
      overRecipientLimit: [],
    };
    if (!rule) return decision;
    if (rule.approvalAbove !== undefined && total.compare(Decimal.parse(rule.approvalAbove)) > 0) {
      decision.approvalsRequired = rule.approvalsRequired ?? 1;
      decision.approvers = rule.approvers ?? [];
    }
    if (rule.maxPerRecipient !== undefined) {
      const max = Decimal.parse(rule.maxPerRecipient);
      for (const { index, amount } of amounts) {
        if (amount.compare(max) > 0)
          decision.overRecipientLimit.push({
            index,
            amount: amount.toString(),
            max: rule.maxPerRecipient,
          });
      }
    }
    if (rule.dailyLimit !== undefined) decision.dailyLimit = Decimal.parse(rule.dailyLimit);
    return decision;
  }

  /** Whether the caller is one of the approvers (a principal, or a member of a named team). */
  isApprover(caller: Caller, approvers: string[]): boolean {
    return this.matches(caller, approvers);
  }

  /** Operators may pause and resume all submission. */
  isOperator(caller: Caller): boolean {
    return this.matches(caller, this.operators);
  }

  private matches(caller: Caller, who: string[]): boolean {
    const owner = this.access.ownerOf(caller);
    return who.some((w) =>
      w.startsWith('arn:') ? normalizePrincipal(w) === caller.principal : owner === `team:${w}`,
    );
  }
}
