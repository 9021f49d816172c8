import { createRequire } from 'node:module';
import { WsgConfigError } from './errors.js';

const require = createRequire(import.meta.url);

/**
 * Loads an optional peer dependency the first time a feature needs it, so an app that never
 * uses the feature never installs it. Synchronous (both peers are CommonJS) so the APIs that
 * use them stay synchronous.
 */
export function loadOptional<T>(name: 'ioredis' | 'prom-client', feature: string): T {
  try {
    return require(name) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND')
      throw new WsgConfigError(
        'WSG_CONFIG_MISSING_PACKAGE',
        `${feature} needs the package '${name}': npm install ${name}`,
      );
    throw err;
  }
}
