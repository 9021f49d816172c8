import { describe, expect, it } from 'vitest';
import { loadOptional } from '../../src/server/optional.js';

// Optional peers load on first use; a missing one is a config error naming the install command.

describe('loadOptional', () => {
  it('returns the package when it is installed', () => {
    const { Registry } = loadOptional<typeof import('prom-client')>('prom-client', 'metrics');
    expect(typeof Registry).toBe('function');
  });

  it('a missing package: WsgConfigError WSG_CONFIG_MISSING_PACKAGE with the npm command', () => {
    const load = () => loadOptional('wsguard-no-such-package' as 'ioredis', 'redisStore()');
    expect(load).toThrow(
      expect.objectContaining({
        name: 'WsgConfigError',
        code: 'WSG_CONFIG_MISSING_PACKAGE',
        message:
          "wsguard: redisStore() needs the package 'wsguard-no-such-package': npm install wsguard-no-such-package",
      }),
    );
  });
});
