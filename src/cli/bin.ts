#!/usr/bin/env node
// `wsguard <command>`: the commands of scripts/, reachable through npx.
import { packageVersion } from '../package-root.js';

const commands: Record<string, () => Promise<{ main(argv: readonly string[]): Promise<number> }>> = {
  audit: () => import('./audit/index.js'),
  health: () => import('./health/index.js'),
  init: () => import('./init/index.js'),
};

const usage = `Usage: wsguard <command> [options]

Options:
  --version, -v  print the installed wsguard version
  --help, -h     show this help

Commands:
  audit    audit a WebSocket endpoint's security (node scripts/websocket-security-audit.js)
  health   check a WebSocket endpoint (node scripts/test-websocket-health.js)
  init     set up wsguard in a project (node scripts/setup-websocket-security.js)

Run \`wsguard <command> --help\` for a command's options, \`wsguard --version\` for the version.`;

const [name, ...rest] = process.argv.slice(2);
const load = name === undefined ? undefined : commands[name];
if (name === '--help' || name === '-h') {
  console.log(usage);
} else if (name === '--version' || name === '-v' || name === 'version') {
  console.log(packageVersion());
} else if (!load) {
  console.error(name ? `wsguard: unknown command '${name}'\n\n${usage}` : usage);
  process.exitCode = 2;
} else {
  // Exit explicitly: a socket a server left half-open must not keep the CLI alive after the report.
  process.exit(await (await load()).main(rest));
}
