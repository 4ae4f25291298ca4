/**
 * Callers as API Gateway would name them, for tests that act as several principals through the
 * local API (its `x-caller-id` header takes the same ARN forms and normalises them the same way).
 */
export const TEST_ACCOUNT = '111122223333';

/** A role's ARN, the principal its sessions map to. */
export const role = (name: string) => `arn:aws:iam::${TEST_ACCOUNT}:role/${name}`;

/** An assumed-role session's ARN, as STS and API Gateway report it. */
export const session = (roleName: string, name: string) =>
  `arn:aws:sts::${TEST_ACCOUNT}:assumed-role/${roleName}/${name}`;

/** Request headers that make the local API see this caller. */
export const as = (caller: string, headers: Record<string, string> = {}) => ({
  'x-caller-id': caller,
  ...headers,
});
