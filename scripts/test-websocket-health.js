#!/usr/bin/env node
// The seed's health check; the logic lives in src/cli/health (built to dist by `npm install`).
import { main } from '../dist/src/cli/health/index.js';

// Exit explicitly: a socket a server left half-open must not keep the CLI alive after the report.
process.exit(await main(process.argv.slice(2)));
