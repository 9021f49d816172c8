#!/usr/bin/env node
// The seed's health check; the logic lives in src/cli/health (built to dist by `npm install`).
import { main } from '../dist/src/cli/health/index.js';

process.exitCode = await main(process.argv.slice(2));
