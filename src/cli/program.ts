import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { packageRoot } from '../core/index.js';
import { describeError, EXIT, exitCodeFor } from './output.js';
import { registerAgentCommands } from './agents.js';
import { registerFleetCommands } from './fleet.js';
import { registerGateCommands } from './gate.js';
import { registerLandCommands } from './land.js';
import { registerSetupCommands } from './setup.js';
import { registerCompletion } from './completion.js';
import { registerCockpitCommands } from './cockpit.js';
import { registerDashboardCommand } from './dashboard.js';
import { registerHostCommands } from './hosts.js';

/** Wraps a command's work: its exit code, or the exit code and one stderr line of its error. */
export type Run = (work: () => Promise<number>) => Promise<void>;

export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((line) => `  $ ${line}`).join('\n')}\n`;
}

export const EXIT_CODES_HELP = `
Exit codes:
  0  ok
  1  the operation failed (git, tmux or an agent CLI failed; a doctor check failed)
  2  usage: unknown command or option, missing or invalid argument
  3  not found: no such agent or permission request
  4  refused by the current state: unsaved work, agent mid-turn, name taken, already decided
  5  wait timed out; land still waits for a human's approval

Environment: RINGMASTER_HOME (default ~/.ringmaster), RINGMASTER_TMUX_SOCKET, RINGMASTER_CLAUDE,
RINGMASTER_CHILD_PERMISSION_MODE, RINGMASTER_TOKEN (HTTP bearer token), RINGMASTER_PORT, NO_COLOR.
Every command has --help with examples; --json prints the MCP tools' field names (snake_case).`;

export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

/** The whole command tree; `run` receives each command's exit code. */
export function buildProgram(run: Run): Command {
  const program = new Command('ringmaster')
    .description('Run a fleet of coding agents, each on its own branch, in its own git worktree and tmux session.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .helpCommand('help [command]', 'show help for a command')
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      `${examples('npx ringmaster install            # register with Claude Code', 'ringmaster spawn --repo ~/code/app --task "fix the flaky login test"', 'ringmaster watch                  # live fleet view: a approve, d deny, enter attach', 'ringmaster wait && ringmaster ls', 'ringmaster completion bash >> ~/.bashrc')}${EXIT_CODES_HELP}`,
    );
  program.configureHelp({ sortSubcommands: false, showGlobalOptions: false });
  registerAgentCommands(program, run);
  registerFleetCommands(program, run);
  registerCockpitCommands(program, run);
  registerDashboardCommand(program, run);
  registerGateCommands(program, run);
  registerLandCommands(program, run);
  registerSetupCommands(program, run);
  registerHostCommands(program, run);
  registerCompletion(program, run);
  // Usage errors are exit 2 everywhere, and read as one "ringmaster: …" line plus a pointer to help.
  const configure = (command: Command) => {
    command.exitOverride().configureOutput({ outputError: (text, write) => write(`ringmaster: ${text.replace(/^error: /, '')}`) });
    command.showHelpAfterError(`(see ringmaster ${command.name() === 'ringmaster' ? '' : `${command.name()} `}--help)`);
    command.allowExcessArguments(false);
    for (const sub of command.commands) configure(sub);
  };
  configure(program);
  return program;
}

/** Parses and runs; resolves to the process exit code. */
export async function runCli(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  const run: Run = async (work) => {
    try {
      code = await work();
    } catch (error) {
      process.stderr.write(`ringmaster: ${describeError(error)}\n`);
      code = exitCodeFor(error);
    }
  };
  const program = buildProgram(run);
  if (argv.length === 0) {
    program.outputHelp();
    return EXIT.usage;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return EXIT.ok;
      return EXIT.usage;
    }
    process.stderr.write(`ringmaster: ${describeError(error)}\n`);
    return exitCodeFor(error);
  }
  return code;
}

export { Option };
