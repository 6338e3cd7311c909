#!/usr/bin/env node
import { runCli } from './cli/program.js';

// The `ringmaster` bin: every command lives in src/cli/, one file per group.
runCli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`ringmaster: Internal error: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
