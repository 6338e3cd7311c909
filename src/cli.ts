#!/usr/bin/env node

// The `ringmaster` bin: every command lives in src/cli/, one file per group.
// Plain `ringmaster serve` (what Claude Code starts and keeps running) goes straight to the stdio server:
// the command tree (commander, the dashboard, the cockpit, setup) would stay loaded in it for nothing.
const argv = process.argv.slice(2);
const main =
  argv.length === 1 && argv[0] === 'serve'
    ? import('./server/stdio.js').then(({ runStdioServer }) => runStdioServer())
    : import('./cli/program.js').then(({ runCli }) => runCli(argv));
main.then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`ringmaster: Internal error: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
