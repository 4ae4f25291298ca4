/** Caller identity: sessions map to their principal; teams and auditors decide who sees what. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../shared/config.js';
import {
  AccessPolicy,
  accessConfigProblems,
  callerFromArn,
  normalizePrincipal,
} from '../../shared/domain/identity.js';

describe('callerFromArn', () => {
  it('maps an assumed-role session to its role and keeps the session as detail', () => {
    expect(
      callerFromArn('arn:aws:sts::123456789012:assumed-role/payroll-svc/aws-sdk-js-1764657600000'),
    ).toEqual({
      principal: 'arn:aws:iam::123456789012:role/payroll-svc',
      session: 'aws-sdk-js-1764657600000',
    });
  });

  it('gives two sessions of one role the same principal', () => {
    const a = callerFromArn('arn:aws:sts::123456789012:assumed-role/r/botocore-session-1');
    const b = callerFromArn('arn:aws:sts::123456789012:assumed-role/r/i-0abc@example.com');
    expect(a.principal).toBe(b.principal);
    expect(a.session).not.toBe(b.session);
  });

  it('keeps the partition (China, GovCloud)', () => {
    expect(callerFromArn('arn:aws-cn:sts::123456789012:assumed-role/r/s').principal).toBe(
      'arn:aws-cn:iam::123456789012:role/r',
    );
    expect(callerFromArn('arn:aws-us-gov:sts::123456789012:assumed-role/r/s').principal).toBe(
      'arn:aws-us-gov:iam::123456789012:role/r',
    );
  });

  it('leaves IAM users, federated users and local names as they are, without a session', () => {
    for (const arn of [
      'arn:aws:iam::123456789012:user/alice',
      'arn:aws:iam::123456789012:user/division/alice',
      'arn:aws:sts::123456789012:federated-user/bob',
      'local:alice',
    ]) {
      expect(callerFromArn(arn)).toEqual({ principal: arn });
    }
  });

  it('drops a role path in configuration, which STS never reports', () => {
    expect(normalizePrincipal('arn:aws:iam::123456789012:role/service/jobs/payroll')).toBe(
      'arn:aws:iam::123456789012:role/payroll',
    );
  });
});

describe('AccessPolicy', () => {
  const policy = new AccessPolicy({
    teams: {
      payroll: [
        'arn:aws:iam::123456789012:role/payroll-svc',
        'arn:aws:iam::123456789012:role/jobs/payroll-batch',
      ],
      treasury: ['arn:aws:iam::123456789012:role/treasury'],
    },
    auditors: ['treasury', 'arn:aws:iam::123456789012:user/auditor'],
  });
  const payroll = callerFromArn('arn:aws:sts::123456789012:assumed-role/payroll-svc/s1');
  const batch = callerFromArn('arn:aws:sts::123456789012:assumed-role/payroll-batch/s2');
  const stranger = callerFromArn('arn:aws:sts::123456789012:assumed-role/affiliates/s3');
  const treasury = callerFromArn('arn:aws:sts::123456789012:assumed-role/treasury/s4');
  const auditor = callerFromArn('arn:aws:iam::123456789012:user/auditor');

  it('owns by team, or by principal outside any team', () => {
    expect(policy.ownerOf(payroll)).toBe('team:payroll');
    expect(policy.ownerOf(batch)).toBe('team:payroll');
    expect(policy.ownerOf(stranger)).toBe('arn:aws:iam::123456789012:role/affiliates');
  });

  it('lets owners read and act, auditors only read, others neither', () => {
    expect(policy.owns(batch, 'team:payroll')).toBe(true);
    expect(policy.mayRead(stranger, 'team:payroll')).toBe(false);
    expect(policy.owns(stranger, 'team:payroll')).toBe(false);
    for (const who of [treasury, auditor]) {
      expect(policy.mayRead(who, 'team:payroll')).toBe(true);
      expect(policy.owns(who, 'team:payroll')).toBe(false);
    }
    expect(policy.owns(payroll, undefined)).toBe(false);
  });
});

describe('access configuration', () => {
  const base = {
    TABLE_NAME: 't',
    CALYPSO_BASE_URL: 'http://127.0.0.1:1',
    CALYPSO_API_KEY: 'k',
    CALYPSO_SECRET_KEY: 's',
    CALYPSO_ACCOUNT: 'a',
  };

  it('reads TEAMS and AUDITORS', () => {
    const config = loadConfig({
      ...base,
      TEAMS: '{"payroll":["arn:aws:iam::123456789012:role/p"]}',
      AUDITORS: '["payroll"]',
    });
    expect(config.access).toEqual({
      teams: { payroll: ['arn:aws:iam::123456789012:role/p'] },
      auditors: ['payroll'],
    });
  });

  it('refuses a principal in two teams, a non-ARN member and an unknown auditor team, naming each', () => {
    expect(
      accessConfigProblems({
        teams: {
          a: ['arn:aws:iam::123456789012:role/x'],
          b: ['arn:aws:iam::123456789012:role/path/x', 'payroll-svc'],
        },
        auditors: ['nobody'],
      }),
    ).toEqual([
      'TEAMS.b: arn:aws:iam::123456789012:role/path/x is already in team a; one team each',
      'TEAMS.b: "payroll-svc" is not a principal ARN',
      'AUDITORS: "nobody" is neither a principal ARN nor a team',
    ]);
    expect(() =>
      loadConfig({ ...base, TEAMS: '{"payroll": "arn:aws:iam::123456789012:role/x"}' }),
    ).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, AUDITORS: 'not json' })).toThrow(/AUDITORS: not JSON/);
  });
});
