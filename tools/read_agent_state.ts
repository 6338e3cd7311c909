import { z } from 'zod';
import { toPublic } from '../src/core/index.js';
import { fleetOverlaps, describeOverlap, type AgentOverlap, type AgentStateReport, AGENT_STATES } from '../src/state/index.js';
import { readAgentStateAnywhere } from '../src/hosts/index.js';
import { defineTool } from '../src/server/tool.js';
import { budgetLook, budgetReport, listQueue, noteTranscriptUsage } from '../src/fleet/index.js';

/** What a read of all agents keeps of each transcript summary (one agent by name gets everything). */
const COMPACT = { toolCalls: 3, editedFiles: 10, textChars: 600, errorChars: 300 } as const;
/**
 * Tighter still, for a fleet whose compact read would not fit: Claude Code
 * (2.1.329) shows the model a tool's structuredContent as JSON, and one of
 * over about 50,000 characters only as a file with a 2 KB preview (46,465
 * characters went whole, 56,700 did not); a compact agent is about 3 KB.
 */
const TIGHT = { toolCalls: 1, editedFiles: 3, textChars: 200, errorChars: 150 } as const;
/** The JSON of a fleet read above which it is cut to TIGHT. */
const FLEET_JSON_BUDGET = 45_000;
type Limits = typeof COMPACT | typeof TIGHT;

/** A spawn waiting in the queue (src/fleet/queue.ts), or one that failed to start from it. */
export const queuedSpawnSchema = z.object({
  queue_id: z.number(),
  id: z.string().describe('The id the agent gets when it starts.'),
  name: z.string(),
  repo: z.string(),
  branch: z.string(),
  state: z.enum(['queued', 'starting', 'started', 'cancelled', 'failed']),
  position: z.number().nullable().describe('Place in the queue, 1 = next; null once it left it.'),
  after: z.array(z.string()).describe('Agents it waits for.'),
  base_after: z.boolean(),
  reason: z.string().describe('Why it waits, or why it failed to start.'),
  created_at: z.string(),
  task_preview: z.string(),
});

export const statusSchema = z.object({
  state: z.enum(AGENT_STATES),
  since: z.string().describe('When this state began (ISO 8601).'),
  seconds_in_state: z.number(),
  reason: z.string().describe('Which signal decided the state, in words.'),
  exit_status: z.number().nullable(),
  current_tool: z.string().nullable(),
});

/** Overlap warnings (src/state/overlap.ts): other live agents changing the same files, and predicted merge conflicts. */
export const overlapsSchema = z
  .array(z.object({ agent: z.string(), same_files: z.array(z.string()), conflict_files: z.array(z.string()).describe('Files git merge-tree says would conflict between the two branches.') }))
  .describe('Other live agents of the same repo that change the same files or whose branches would conflict with this one.');

export function overlapsOutput(overlap: AgentOverlap | undefined) {
  return {
    overlaps: (overlap?.overlaps ?? []).map((other) => ({ agent: other.agent, same_files: other.sameFiles, conflict_files: other.conflictFiles })),
    base_conflict_files: overlap?.baseConflictFiles ?? [],
  };
}

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
  host: z.string().nullable().describe('The host it runs on (over SSH); null for this machine.'),
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
      trimmed: z
        .boolean()
        .describe(
          `True when this is the compact form a read of all agents returns: the last ${COMPACT.toolCalls} tool calls and errors (each error cut at ${COMPACT.errorChars} characters), the last ${COMPACT.editedFiles} edited files, the last message cut at ${COMPACT.textChars} characters; ` +
            `for a fleet too large for that to fit a client's context, ${TIGHT.toolCalls} tool call and error (${TIGHT.errorChars} characters), ${TIGHT.editedFiles} edited files and ${TIGHT.textChars} characters of the message. Read one agent by name (or pass verbose) for everything.`,
        ),
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
  budget: z
    .object({
      state: z.enum(['unlimited', 'ok', 'warning', 'held', 'unknown']).describe('held: at its limit, interrupted, and refused new prompts until a human approves more; unknown: spend cannot be read, so new work is refused.'),
      spent_usd: z.number().nullable(),
      spent_tokens: z.number().nullable(),
      window_hours: z.number(),
      limit_usd: z.number().nullable(),
      limit_tokens: z.number().nullable(),
      reason: z.string(),
      held_since: z.string().nullable(),
    })
    .optional(),
  screen: z.string().optional(),
  overlaps: overlapsSchema,
  base_conflict_files: z.array(z.string()).describe("Files that conflict with the base branch's newer commits."),
});

function agentStateOutput(report: AgentStateReport & { host: string | null }, verbose: boolean, overlap: AgentOverlap | undefined, limits?: Limits): z.infer<typeof agentStateSchema> {
  const transcript = report.transcript;
  const last = <T>(items: T[], count: number) => (limits ? items.slice(-count) : items);
  const text = transcript?.summary.lastAssistantText ?? null;
  const cut = (value: string, chars: number) => (limits && value.length > chars ? `${value.slice(0, chars)}…` : value);
  const { toolCalls, editedFiles, textChars, errorChars } = limits ?? COMPACT;
  return {
    id: report.id,
    name: report.name,
    agent: report.agent,
    branch: report.branch,
    worktree_path: report.worktreePath,
    tmux_session: report.tmuxSession,
    host: report.host,
    status: toPublic(report.status),
    claude_session_id: report.claudeSessionId,
    transcript_path: report.transcriptPath,
    transcript: transcript && {
      last_assistant_text: text === null ? null : cut(text, textChars),
      last_assistant_at: transcript.summary.lastAssistantAt,
      recent_tool_calls: last(transcript.summary.recentToolCalls, toolCalls).map(({ name, summary, at, sidechain }) => ({ name, summary, at, sidechain })),
      edited_files: last(transcript.summary.editedFiles, editedFiles),
      errors: last(transcript.summary.errors, toolCalls).map(({ at, text: error }) => ({ at, text: cut(error, errorChars) })),
      usage: toPublic(transcript.usage),
      unpriced_models: transcript.unpricedModels,
      ...(verbose ? { recent_lines: transcript.summary.recentLines } : {}),
      trimmed: limits !== undefined,
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
    ...overlapsOutput(overlap),
  };
}

export const readAgentStateTool = defineTool({
  name: 'read_agent_state',
  title: 'Read agent state',
  description:
    "The truth about one agent or all of them: status (spawning, starting, working, waiting_permission, waiting_input, idle, exited, unknown, stalled: it claims to work but nothing has moved for a while, unreachable: its host does not answer) with how long and why; " +
    'from the transcript the last assistant text, recent tool calls, edited files, errors, tokens and cost (main, sidechain and subagents apart; compact when all agents are read, see transcript.trimmed); ' +
    'from git the branch, commits ahead/behind the base, dirty files, diff stat and whether it is pushed. verbose adds recent transcript lines and the last screen.',
  inputSchema: z.object({
    name: z.string().optional().describe('One agent; omit for all.'),
    verbose: z.boolean().optional().describe('Add recent transcript lines and the last screen of the pane.'),
  }),
  outputSchema: z.object({
    agents: z.array(agentStateSchema),
    queued: z.array(queuedSpawnSchema).describe('Spawns not started yet (past the cap, or waiting for other agents), with their place and why.'),
  }),
  summary: ({ agents, queued }) => {
    const lines = [
      ...agents.map((agent) => `${agent.name} is ${agent.status.state.replace('_', ' ')} (${agent.status.seconds_in_state} s)${agent.budget && ['warning', 'held', 'unknown'].includes(agent.budget.state) ? `, budget ${agent.budget.state}: ${agent.budget.reason}` : ''}`),
      ...queued.map((spawn) => (spawn.position === null ? `${spawn.name} is ${spawn.state}: ${spawn.reason}` : `${spawn.name} is queued at place ${spawn.position}: ${spawn.reason}`)),
    ];
    const overlapping = agents
      .filter((agent) => agent.overlaps.length > 0 || agent.base_conflict_files.length > 0)
      .map((agent) => ` OVERLAP ${describeOverlap({ agent: agent.name, overlaps: agent.overlaps.map((other) => ({ agent: other.agent, sameFiles: other.same_files, conflictFiles: other.conflict_files })), baseConflictFiles: agent.base_conflict_files })}.`)
      .join('');
    return lines.length === 0 ? 'No agents.' : `${lines.join('; ')}.${overlapping}`;
  },
  annotations: { readOnlyHint: true, openWorldHint: false },
  async handle(context, args) {
    const queued = toPublic(listQueue(context, args.name));
    // A name still in the queue has no agent yet: its queue entry is its state.
    const live = args.name === undefined || queued.length === 0 || !['removed', undefined].includes(context.store.findAgentByName(args.name)?.state);
    // A read of the whole fleet stays small enough for the parent's context: details are one name away.
    const compact = args.name === undefined && !args.verbose;
    const reports = live ? await readAgentStateAnywhere(context, { name: args.name, verbose: args.verbose }) : [];
    // Overlaps are a warning on top of the state: one that cannot be worked out leaves the state readable.
    const overlaps = reports.length > 0 ? await fleetOverlaps(context).catch(() => new Map<string, AgentOverlap>()) : new Map<string, AgentOverlap>();
    const look = budgetLook(context);
    // One query for the fleet's rows; one agent's read asks for its own.
    const rows = reports.length > 1 ? new Map(context.store.listAgents().map((record) => [record.id, record] as const)) : undefined;
    const records = new Map(reports.filter((report) => report.host === null).map((report) => [report.id, rows ? rows.get(report.id) : context.store.getAgent(report.id)] as const));
    for (const report of reports) {
      // Its transcripts were just read for this report: the budget need not read them again.
      const record = records.get(report.id);
      if (record && record.agentKind === 'claude' && record.state !== 'removed' && report.transcript) noteTranscriptUsage(look, record.id, report.transcript.usage);
    }
    // Budgets are kept where the agent's transcripts are read: this machine's, for its own agents.
    const budgets = new Map([...records].flatMap(([id, record]) => (record ? [[id, toPublic(budgetReport(context, record, look))] as const] : [])));
    const output = (limits?: Limits) => reports.map((report) => ({ ...agentStateOutput(report, Boolean(args.verbose), overlaps.get(report.id), limits), ...(budgets.has(report.id) ? { budget: budgets.get(report.id) } : {}) }));
    let agents = output(compact ? COMPACT : undefined);
    if (compact && JSON.stringify(agents).length > FLEET_JSON_BUDGET) agents = output(TIGHT);
    return { agents, queued };
  },
});
