#!/usr/bin/env node
// The seed's security audit; the logic lives in src/cli/audit (built to dist by `npm install`).
import { main } from '../dist/src/cli/audit/index.js';

process.exitCode = await main(process.argv.slice(2));
