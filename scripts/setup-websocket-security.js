#!/usr/bin/env node
// The seed's setup command; the logic lives in src/cli/init (built to dist by `npm install`).
import { main } from '../dist/src/cli/init/index.js';

process.exitCode = await main(process.argv.slice(2));
