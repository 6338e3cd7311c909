import { isCredentialVariable } from '../gate/index.js';
import { shellQuote } from '../adapters/tmux.js';

/** Variables that belong to the parent's own session and must not leak into a child. */
const PARENT_ONLY_ENV = [
  'TMUX',
  'TMUX_PANE',
  // A child Claude that sees these believes it is nested inside the parent session.
  'CLAUDECODE',
  'CLAUDE_CODE_ENTRYPOINT',
  'CLAUDE_CODE_SSE_PORT',
  'CLAUDE_PROJECT_DIR',
  'CLAUDE_ENV_FILE',
];

/** The environment a child starts with: ringmaster's own, minus the parent's session, plus the caller's. */
export function childEnvironment(base: Record<string, string | undefined>, additions: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(base)) {
    // Credentials stay with the user: a child gets one only when the caller passes it in `env` itself.
    if (value === undefined || PARENT_ONLY_ENV.includes(key) || isCredentialVariable(key) || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) continue;
    env[key] = value;
  }
  return { ...env, ...additions };
}

/** `export` lines for a private env file; it is sourced and deleted by the launch script. */
export function envFileText(env: Record<string, string>): string {
  const lines = [`unset ${PARENT_ONLY_ENV.join(' ')}`];
  for (const [key, value] of Object.entries(env)) lines.push(`export ${key}=${shellQuote(value)}`);
  return `${lines.join('\n')}\n`;
}

const PLACEHOLDERS: Record<string, string> = {
  '{task}': '"$task"',
  '{task_file}': '"$task_file"',
  '{system_prompt}': '"$system_prompt"',
};

/** One argv entry as shell text, with ringmaster's placeholders expanded by the shell at launch. */
export function shellWord(arg: string): string {
  const pieces = arg.split(/(\{task\}|\{task_file\}|\{system_prompt\})/).filter((piece) => piece !== '');
  if (pieces.length === 0) return "''";
  return pieces.map((piece) => PLACEHOLDERS[piece] ?? shellQuote(piece)).join('');
}

export interface LaunchScriptInput {
  agentId: string;
  agentName: string;
  envFile: string;
  worktreePath: string;
  /** File whose exact bytes become "$task". */
  taskArgFile: string;
  /** Path offered to templates as "$task_file": the full task, however long. */
  taskFile: string;
  systemPromptFile: string;
  /** Where the agent's exit status is written when it ends. */
  exitStatusFile: string;
  argv: string[];
}

/**
 * The script a tmux pane runs. Reading the task from a file keeps every byte
 * intact (quotes, `$VARS`, backticks, trailing newlines) and keeps long text
 * out of tmux's own command size limit. The agent runs as the script's one
 * child, in the foreground of the pane, and the script records its exit
 * status itself: tmux's own pane_dead_status is lost when a process exits
 * quickly (seen here with tmux 3.3a).
 */
export function launchScript(input: LaunchScriptInput): string {
  const readExact = (variable: string, file: string) =>
    `${variable}=$(cat -- ${shellQuote(file)}; printf x) || exit 97\n${variable}=\${${variable}%x}`;
  return [
    '#!/usr/bin/env bash',
    `# Written by ringmaster for agent ${input.agentName} (${input.agentId}); it starts the agent once.`,
    `. ${shellQuote(input.envFile)} && rm -f -- ${shellQuote(input.envFile)}`,
    `task_file=${shellQuote(input.taskFile)}`,
    readExact('task', input.taskArgFile),
    readExact('system_prompt', input.systemPromptFile),
    `cd -- ${shellQuote(input.worktreePath)} || exit 98`,
    input.argv.map(shellWord).join(' '),
    'status=$?',
    `printf '%s\\n' "$status" > ${shellQuote(input.exitStatusFile)}`,
    'exit "$status"',
    '',
  ].join('\n');
}
