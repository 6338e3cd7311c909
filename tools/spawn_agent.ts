import { z } from 'zod';
import { AGENT_KINDS } from '../src/fleet/index.js';
import { defineTool } from '../src/server/tool.js';
import { toPublic } from '../src/core/index.js';
import { UserInputError } from '../src/errors.js';
import { spawnForTicket } from '../src/forge/index.js';
import { attemptsInput, attemptsOutput, spawnAttemptsFromTool } from './spawn_attempts.js';
import { spawnAnywhere } from '../src/hosts/index.js';

export const spawnAgentTool = defineTool({
  name: 'spawn_agent',
  title: 'Spawn agent',
  description:
    'Start a child coding agent on its own new branch, in its own git worktree and tmux session, and hand it a task. ' +
    'The child starts working with no keystroke from anyone, in an OS sandbox whose network passes ringmaster\'s egress gate (gated and unknown hosts wait for a human). Returns the agent id and name, the branch, the worktree path, ' +
    'the tmux session and the exact command a human runs to attach. Give each agent a task that touches different files from the others.',
  inputSchema: z.object({
    repo: z.string().describe('Absolute path of a git checkout (any folder inside it works).'),
    task: z.string().optional().describe('The prompt the agent starts with. Any length; long tasks are handed over as a file. Optional with linear_issue, where it is added to the ticket text.'),
    linear_issue: z.string().optional().describe("A Linear ticket such as ENG-123: its title and description become the task, its suggested branch the branch, and the PR is linked to it."),
    name: z.string().optional().describe('Agent name: 1-40 of A-Z a-z 0-9 - _. Default: from the task, plus a short random suffix.'),
    base: z.string().optional().describe("Branch, tag or commit to start from. Default: the repo's current branch."),
    branch: z.string().optional().describe('New branch to create. Default: agent/<name>. Must not exist yet.'),
    agent: z.enum(AGENT_KINDS).optional().describe('Which agent CLI to run. Default: claude.'),
    command: z.array(z.string()).optional().describe('With agent "custom": the argv to run. "{task}" and "{task_file}" are replaced; otherwise the task is the last argument.'),
    model: z.string().optional().describe('Model name passed to the agent CLI (--model).'),
    extra_args: z.array(z.string()).optional().describe('Extra arguments for the agent CLI, e.g. ["--permission-mode", "acceptEdits"]. Arguments that would switch off ringmaster\'s settings, hooks, sandbox or permission checks (--settings, --setting-sources, --dangerously-skip-permissions, --mcp-config, --add-dir, bypassPermissions, ...) are refused.'),
    env: z.record(z.string(), z.string()).optional().describe('Extra environment variables for the agent.'),
    host: z.string().optional().describe('Run the agent on this host from config.json (over SSH); repo is then a path on that host. Default: this machine, or the least loaded host when this machine is at placement.localMaxAgents.'),
    bootstrap: z
      .object({
        copy: z.array(z.string()).optional().describe('Globs of untracked files to copy from the main checkout, e.g. [".env*"].'),
        setup: z.string().optional().describe('Shell command run in the new worktree before the agent starts, e.g. "npm ci".'),
        setup_timeout_sec: z.number().int().min(1).max(7200).optional().describe('Limit for the setup command. Default 600.'),
      })
      .optional()
      .describe('Prepare the worktree before the agent starts; progress is sent as MCP progress notifications.'),
    after: z.array(z.string()).optional().describe('Names of agents (running or queued) this one waits for: it is queued and starts once they all finished (idle, exited or cleaned up).'),
    budget: z
      .object({ usd: z.number().positive().optional(), tokens: z.number().int().positive().optional() })
      .optional()
      .describe("This agent's own spend limit over the budget window, instead of budgets.perAgent in config.json. At the limit it is interrupted and held until a human approves more."),
    base_after: z.boolean().optional().describe('With after: start from the branch of the last agent in after, as it is when that agent finished.'),
    ...attemptsInput,
  }),
  outputSchema: z.object({
    id: z.string(),
    name: z.string(),
    agent: z.string(),
    repo: z.string(),
    branch: z.string(),
    base: z.string(),
    base_commit: z.string().nullable().describe('null while queued.'),
    worktree_path: z.string(),
    tmux_session: z.string(),
    tmux_socket: z.string().nullable(),
    attach_command: z.string().describe('Run this in a terminal to watch or steer the agent.'),
    task_submitted: z.boolean().nullable().describe('true once Claude confirmed the task; null for CLIs that cannot confirm.'),
    copied_files: z.array(z.string()),
    setup: z.object({ command: z.string(), exit_code: z.number(), duration_ms: z.number() }).nullable(),
    linear: z.object({ identifier: z.string(), url: z.string() }).nullable(),
    host: z.string().nullable().describe('The host it runs on; null for this machine.'),
    enforcement: z.enum(['sandboxed', 'unenforced']).describe('sandboxed: the child runs in an OS sandbox whose network passes the egress gate; unenforced: the sandbox is off in policy.json.'),
    notes: z.array(z.string()),
    status: z.enum(['started', 'queued']).describe('queued: past the live-agent cap, or waiting for the agents in after; it starts by itself, cancel_spawn takes it back.'),
    queue: z.object({ position: z.number(), after: z.array(z.string()), reason: z.string() }).nullable().describe('While queued: its place (1 = next) and why it waits.'),
    ...attemptsOutput,
  }),
  summary: (agent) =>
    agent.group
      ? `Spawned ${agent.group.attempts.length} attempts as group ${agent.group.name} (${agent.group.id}): ${agent.group.attempts.map((attempt) => `${attempt.name} (${attempt.agent})`).join(', ')}. Compare them with compare_attempts.`
      : agent.status === 'queued'
        ? `Queued ${agent.name} at place ${agent.queue?.position}: ${agent.queue?.reason}. It starts by itself; cancel_spawn takes it back.`
        : `Spawned ${agent.name} (${agent.agent}) on ${agent.branch} from ${agent.base}; ${agent.task_submitted === true ? 'it has its task' : agent.task_submitted === null ? 'started (this CLI cannot confirm the task)' : 'started, task not yet confirmed'}${agent.enforcement === 'unenforced' ? '; UNENFORCED: the sandbox is off in policy.json' : ', sandboxed behind the egress gate'}. Watch: ${agent.attach_command}`,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async handle(context, args, { progress }) {
    const request = {
      repo: args.repo,
      task: args.task ?? '',
      name: args.name,
      base: args.base,
      branch: args.branch,
      agent: args.agent,
      command: args.command,
      model: args.model,
      extraArgs: args.extra_args,
      env: args.env,
      bootstrap: args.bootstrap && { copy: args.bootstrap.copy, setup: args.bootstrap.setup, setupTimeoutSec: args.bootstrap.setup_timeout_sec },
    };
    if (args.attempts !== undefined) {
      if (args.after !== undefined || args.base_after !== undefined) throw new UserInputError('attempts cannot wait for other agents: leave out after and base_after, or spawn the attempts once those agents finished.');
      if (args.host !== undefined) throw new UserInputError('attempts run on this machine; leave out host.');
      return { ...(await spawnAttemptsFromTool(context, args, { ...request, budget: args.budget }, progress)), host: null };
    }
    if (args.linear_issue) return toPublic({ ...(await spawnForTicket(context, args.linear_issue, request, progress)), status: 'started' as const, queue: null, host: null });
    return toPublic(await spawnAnywhere(context, { ...request, host: args.host, after: args.after, baseAfter: args.base_after, budget: args.budget }, progress));
  },
});
