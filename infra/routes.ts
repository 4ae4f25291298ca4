/**
 * Every API route, in one list: the CDK stack builds API Gateway from it and the local stack
 * serves the same handlers from it.
 */
export interface Route {
  method: 'GET' | 'POST';
  /** API Gateway path with `{param}` placeholders. */
  path: string;
  /** File under functions/ (without extension) that exports `handler`. */
  handler: string;
  /** `iam`: internal callers signed with SigV4; `none`: Calypso's webhook (signature checked inside). */
  auth: 'iam' | 'none';
}

export const ROUTES: readonly Route[] = [
  { method: 'POST', path: '/payouts', handler: 'create-payout', auth: 'iam' },
  { method: 'GET', path: '/payouts/{id}', handler: 'get-payout', auth: 'iam' },
  { method: 'GET', path: '/payouts/{id}/withdrawals', handler: 'list-withdrawals', auth: 'iam' },
  { method: 'GET', path: '/withdrawals', handler: 'find-withdrawals', auth: 'iam' },
  { method: 'GET', path: '/balances', handler: 'get-balances', auth: 'iam' },
  { method: 'POST', path: '/payouts/{id}/retry-failed', handler: 'retry-failed', auth: 'iam' },
  { method: 'GET', path: '/payouts/{id}/events', handler: 'list-events', auth: 'iam' },
  { method: 'POST', path: '/payouts/{id}/approve', handler: 'approve-payout', auth: 'iam' },
  { method: 'POST', path: '/payouts/{id}/reject', handler: 'reject-payout', auth: 'iam' },
  { method: 'POST', path: '/payouts/{id}/cancel', handler: 'cancel-payout', auth: 'iam' },
  { method: 'GET', path: '/approvals', handler: 'list-approvals', auth: 'iam' },
  { method: 'GET', path: '/admin/pause', handler: 'admin-pause', auth: 'iam' },
  { method: 'POST', path: '/admin/pause', handler: 'admin-pause', auth: 'iam' },
  { method: 'POST', path: '/admin/resume', handler: 'admin-pause', auth: 'iam' },
  { method: 'POST', path: '/webhooks/calypso', handler: 'calypso-webhook', auth: 'none' },
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
