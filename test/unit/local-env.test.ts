/**
 * The local stack's log level holds from its first line: local-env sets it before the shared
 * Logger is built, and start.ts imports local-env before anything else.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('the local stack environment', () => {
  it('is imported by start.ts before any other module', () => {
    const source = readFileSync('infra/local/start.ts', 'utf8');
    const imports = [...source.matchAll(/^import\s.*?['"]([^'"]+)['"];?$/gms)].map((m) => m[1]);
    expect(imports[0]).toBe('./local-env.js');
  });

  it('makes the shared Logger quiet (WARN) from the start when LOG_LEVEL is unset', async () => {
    const saved = process.env.LOG_LEVEL;
    delete process.env.LOG_LEVEL;
    try {
      await import('../../infra/local/local-env.js');
      const { logger } = await import('../../shared/observability.js');
      expect(logger.getLevelName()).toBe('WARN');
    } finally {
      process.env.LOG_LEVEL = saved;
    }
  });
});
