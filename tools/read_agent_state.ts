import { z } from 'zod';
import { toPublic } from '../src/core/index.js';
import { readAgentState, type AgentStateReport, AGENT_STATES } from '../src/state/index.js';
import { defineTool } from '../src/server/tool.js';

export const statusSchema = z.object({
  state: z.enum(AGENT_STATES),
  since: z.string().describe('When this state began (ISO 8601).'),
  seconds_in_state: z.number(),
  reason: z.string().describe('Which signal decided the state, in words.'),
  exit_status: z.number().nullable(),
  current_tool: z.string().nullable(),
});

const usageSchema = z.object({
  input_tokens: z.number(),
  output_tokens: z.number(),
  cache_creation_tokens: z.number(),
  cache_read_tokens: z.number(),
  cost_usd: z.number().nullable(),
  api_responses: z.number(),
});

const agentStateSchema = z.object({
  id: z.string(),
  name: z.string(),
  agent: z.string(),
  branch: z.string(),
  worktree_path: z.string(),
  tmux_session: z.string(),
  status: statusSchema,
  claude_session_id: z.string().nullable(),
  transcript_path: z.string().nullable(),
  transcript: z
    .object({
      last_assistant_text: z.string().nullable(),
      last_assistant_at: z.string().nullable(),
      recent_tool_calls: z.array(z.object({ name: z.string(), summary: z.string(), at: z.string().nullable(), sidechain: z.boolean() })),
      edited_files: z.array(z.string()),
      errors: z.array(z.object({ at: z.string().nullable(), text: z.string() })),
      usage: z.object({ main: usageSchema, sidechain: usageSchema, subagents: usageSchema }),
      unpriced_models: z.array(z.string()),
      recent_lines: z.array(z.object({ at: z.string().nullable(), role: z.string(), text: z.string() })).optional(),
    })
    .nullable(),
  git: z
    .object({
      branch: z.string().nullable(),
      base: z.string(),
      ahead: z.number(),
      behind: z.number(),
      dirty_files: z.array(z.string()),
      diff_stat: z.object({ files: z.number(), insertions: z.number(), deletions: z.number() }),
      upstream: z.string().nullable(),
      pushed: z.boolean(),
      unpushed_commits: z.number().nullable(),
      age_seconds: z.number().describe('How old this summary is: git summaries are cached per worktree and refreshed when its files, index or refs change.'),
      stale: z.boolean().describe('True when the worktree changed since and a fresh summary is being computed; read again for it.'),
    })
    .nullable(),
  screen: z.string().optional(),
});

function agentStateOutput(report: AgentStateReport, verbose: boolean): z.infer<typeof agentStateSchema> {
  const transcript = report.transcript;
  return {
    id: report.id,
    name: report.name,
    agent: report.agent,
    branch: report.branch,
    worktree_path: report.worktreePath,
    tmux_session: report.tmuxSession,
    status: toPublic(report.status),
    claude_session_id: report.claudeSessionId,
    transcript_path: report.transcriptPath,
    transcript: transcript && {
      last_assistant_text: transcript.summary.lastAssistantText,
      last_assistant_at: transcript.summary.lastAssistantAt,
      recent_tool_calls: transcript.summary.recentToolCalls.map(({ name, summary, at, sidechain }) => ({ name, summary, at, sidechain })),
      edited_files: transcript.summary.editedFiles,
      errors: transcript.summary.errors,
      usage: toPublic(transcript.usage),
      unpriced_models: transcript.unpricedModels,
      ...(verbose ? { recent_lines: transcript.summary.recentLines } : {}),
    },
    git: report.git && {
      branch: report.git.branch,
      base: report.git.base,
      ahead: report.git.ahead,
      behind: report.git.behind,
      dirty_files: report.git.dirtyFiles,
      diff_stat: report.git.diffStat,
      upstream: report.git.upstream,
      pushed: report.git.pushed,
      unpushed_commits: report.git.unpushedCommits,
      age_seconds: Math.max(0, Math.round((Date.now() - report.git.computedAt) / 1000)),
      stale: report.git.stale,
    },
    ...(verbose ? { screen: report.screen ?? '' } : {}),
  };
}

export const readAgentStateTool = defineTool({
  name: 'read_agent_state',
  title: 'Read agent state',
  description:
    "The truth about one agent or all of them: status (spawning, starting, working, waiting_permission, waiting_input, idle, exited, unknown) with how long and why; " +
    'from the transcript the last assistant text, recent tool calls, edited files, errors, tokens and cost (main, sidechain and subagents apart); ' +
    'from git the branch, commits ahead/behind the base, dirty files, diff stat and whether it is pushed. verbose adds recent transcript lines and the last screen.',
  inputSchema: z.object({
    name: z.string().optional().describe('One agent; omit for all.'),
    verbose: z.boolean().optional().describe('Add recent transcript lines and the last screen of the pane.'),
  }),
  outputSchema: z.object({ agents: z.array(agentStateSchema) }),
  summary: ({ agents }) =>
    agents.length === 0
      ? 'No agents.'
      : agents.map((agent) => `${agent.name} is ${agent.status.state.replace('_', ' ')} (${agent.status.seconds_in_state} s)`).join('; ') + '.',
  annotations: { readOnlyHint: true, openWorldHint: false },
  async handle(context, args) {
    const reports = await readAgentState(context, { name: args.name, verbose: args.verbose });
    return { agents: reports.map((report) => agentStateOutput(report, Boolean(args.verbose))) };
  },
});
