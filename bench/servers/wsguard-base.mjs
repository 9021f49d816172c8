// The wsguard server on an older build (`npm run bench -- --baseline=DIR`, DIR a `dist/`), so
// before and after run side by side in one bench run.
if (!process.env.WSGUARD_DIST) throw new Error('WSGUARD_DIST is not set');
await import('./wsguard.mjs');
