import type { Config } from '../config.js';
import type { AgentKind } from '../store/store.js';

/**
 * How each agent CLI is started and handed its first task. Arguments are
 * templates: `{task}` becomes the task text, `{task_file}` the path of a file
 * holding it. Where a CLI has no way to take an initial prompt interactively,
 * the task is pasted into its terminal once it has started.
 */
export interface LaunchPlan {
  argv: string[];
  /** 'argv': the task is in argv already; 'paste': type it once the TUI is up. */
  delivery: 'argv' | 'paste';
}

/** Linux caps a single argv string at 128 KiB; above this a task travels as a file. */
export const MAX_TASK_ARG_BYTES = 100_000;

export interface LaunchInput {
  kind: AgentKind;
  config: Config;
  model?: string;
  extraArgs: string[];
  /** Used only when kind is 'custom'. */
  customCommand?: string[];
  settingsPath: string;
  systemPromptPlaceholder: string;
  taskPlaceholder: string;
}

export function buildLaunchPlan(input: LaunchInput): LaunchPlan {
  const { kind, config, model, extraArgs } = input;
  const task = input.taskPlaceholder;
  switch (kind) {
    case 'claude': {
      // MCP servers run in Claude's own process, outside the sandbox: a child gets none, not the user's nor the repository's .mcp.json.
      const args = [config.agents.claude, '--settings', input.settingsPath, '--strict-mcp-config', '--mcp-config', '{"mcpServers":{}}', '--append-system-prompt', input.systemPromptPlaceholder];
      if (model) args.push('--model', model);
      if (config.claude.permissionMode && !extraArgs.includes('--permission-mode')) args.push('--permission-mode', config.claude.permissionMode);
      // `--` stops options such as --allowedTools from swallowing the task (FACTS.md).
      return { argv: [...args, ...extraArgs, '--', task], delivery: 'argv' };
    }
    case 'codex':
      return { argv: [config.agents.codex, ...(model ? ['--model', model] : []), ...extraArgs, '--', task], delivery: 'argv' };
    case 'opencode':
      return { argv: [config.agents.opencode, ...(model ? ['--model', model] : []), ...extraArgs, '--prompt', task], delivery: 'argv' };
    case 'aider':
      // aider's --message runs one prompt and exits; an interactive session takes the task by paste.
      return { argv: [config.agents.aider, ...(model ? ['--model', model] : []), ...extraArgs], delivery: 'paste' };
    case 'custom': {
      const command = input.customCommand ?? [];
      const templated = command.some((arg) => arg.includes('{task}') || arg.includes('{task_file}'));
      return { argv: templated ? [...command, ...extraArgs] : [...command, ...extraArgs, task], delivery: 'argv' };
    }
  }
}
