/**
 * Who is asking, as the service sees it. An AWS session is not an identity: the same role gets a
 * new session name on every CLI run, ECS task or IRSA refresh. Idempotency, ownership, four-eyes
 * and the audit trail therefore rest on the *principal* (the role behind an assumed-role session,
 * or the IAM user itself); the session name is kept only as detail of the actor.
 *
 * Owners: configuration maps principals to teams. A payout belongs to its creator's team, or to
 * the principal itself when it is in no team. Auditors (principals or teams) may read every
 * payout, but act on none they do not own. Pure: no I/O.
 */

export interface Caller {
  /** The stable identity: `arn:aws:iam::ACCT:role/ROLE`, an IAM user's ARN, or a local name. */
  principal: string;
  /** The assumed-role session name (changes per session); detail only, never a scope. */
  session?: string;
}

const ASSUMED_ROLE = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/(.+)$/;
const IAM_ROLE = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/(?:.+\/)?([^/]+)$/;

/**
 * The principal behind an authenticated ARN. An assumed-role session maps to its role; a role's
 * path is dropped (STS does not report it, so configuration written with a path still matches);
 * IAM users, federated users and anything else stay as they are.
 */
export function callerFromArn(arn: string): Caller {
  const assumed = ASSUMED_ROLE.exec(arn);
  if (assumed) {
    const [, partition, account, role, session] = assumed;
    return { principal: `arn:${partition}:iam::${account}:role/${role}`, session: session! };
  }
  return { principal: normalizePrincipal(arn) };
}

/** A principal as written in configuration, in the form callers are compared in. */
export function normalizePrincipal(principal: string): string {
  const role = IAM_ROLE.exec(principal);
  if (role) return `arn:${role[1]}:iam::${role[2]}:role/${role[3]}`;
  const assumed = ASSUMED_ROLE.exec(principal);
  if (assumed) return `arn:${assumed[1]}:iam::${assumed[2]}:role/${assumed[3]}`;
  return principal;
}

/** Teams by name, each a list of principals; and who may read every payout. */
export interface AccessConfig {
  teams: Record<string, string[]>;
  /** Principals, or team names, allowed to read all payouts. */
  auditors: string[];
}

export const NO_ACCESS_CONFIG: AccessConfig = { teams: {}, auditors: [] };

const TEAM_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Checks an access configuration: team names are plain words, each principal belongs to one team
 * at most, auditors name principals or known teams. Returns the problems, each naming its field.
 */
export function accessConfigProblems(config: AccessConfig, field = 'TEAMS'): string[] {
  const problems: string[] = [];
  const teamOf = new Map<string, string>();
  for (const [team, members] of Object.entries(config.teams)) {
    if (!TEAM_NAME.test(team)) {
      problems.push(
        `${field}.${team}: a team name is 1 to 64 of A-Z a-z 0-9 . _ - (not a leading . _ -)`,
      );
    }
    if (!Array.isArray(members) || members.length === 0) {
      problems.push(`${field}.${team}: must list at least one principal ARN`);
      continue;
    }
    for (const member of members) {
      if (typeof member !== 'string' || !member.startsWith('arn:')) {
        problems.push(`${field}.${team}: ${JSON.stringify(member)} is not a principal ARN`);
        continue;
      }
      const principal = normalizePrincipal(member);
      const other = teamOf.get(principal);
      if (other !== undefined && other !== team) {
        problems.push(`${field}.${team}: ${member} is already in team ${other}; one team each`);
      }
      teamOf.set(principal, team);
    }
  }
  for (const auditor of config.auditors) {
    if (
      typeof auditor !== 'string' ||
      (!auditor.startsWith('arn:') && !(auditor in config.teams))
    ) {
      problems.push(`AUDITORS: ${JSON.stringify(auditor)} is neither a principal ARN nor a team`);
    }
  }
  return problems;
}

/** Resolves callers to owners and answers who may see what. */
export class AccessPolicy {
  private readonly teamOf = new Map<string, string>();
  private readonly auditorPrincipals = new Set<string>();
  private readonly auditorTeams = new Set<string>();

  constructor(config: AccessConfig = NO_ACCESS_CONFIG) {
    for (const [team, members] of Object.entries(config.teams)) {
      for (const member of members) this.teamOf.set(normalizePrincipal(member), team);
    }
    for (const auditor of config.auditors) {
      if (auditor.startsWith('arn:')) this.auditorPrincipals.add(normalizePrincipal(auditor));
      else this.auditorTeams.add(auditor);
    }
  }

  /** The owner of what this caller creates: `team:<name>`, or the principal itself. */
  ownerOf(caller: Caller): string {
    const team = this.teamOf.get(caller.principal);
    return team !== undefined ? `team:${team}` : caller.principal;
  }

  /** Whether the caller may act on (retry, cancel) what the owner owns. */
  owns(caller: Caller, owner: string | undefined): boolean {
    return owner !== undefined && this.ownerOf(caller) === owner;
  }

  isAuditor(caller: Caller): boolean {
    if (this.auditorPrincipals.has(caller.principal)) return true;
    const team = this.teamOf.get(caller.principal);
    return team !== undefined && this.auditorTeams.has(team);
  }

  /** Whether the caller may read what the owner owns. */
  mayRead(caller: Caller, owner: string | undefined): boolean {
    return this.owns(caller, owner) || this.isAuditor(caller);
  }
}

/** The actor recorded for changes made by the service itself. */
export const SYSTEM_ACTORS = {
  api: 'system:submitter',
  webhook: 'system:webhook',
  reconcile: 'system:reconciler',
} as const;
