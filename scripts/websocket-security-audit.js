#!/usr/bin/env node
// The seed's security audit; the logic lives in src/cli/audit (built to dist by `npm install`).
import { main } from '../dist/src/cli/audit/index.js';

// Exit explicitly: a socket a server left half-open must not keep the CLI alive after the report.
process.exit(await main(process.argv.slice(2)));
