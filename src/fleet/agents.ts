import { existsSync } from 'node:fs';
import type { PaneInfo } from '../adapters/tmux.js';
import type { AgentRecord } from '../store/store.js';
import { tmuxFor, type Context } from '../core/index.js';
import { livePanes, liveness, findLiveAgent } from '../state/index.js';
import { enforcementOf, type AgentEnforcement } from '../gate/index.js';

export interface AgentSummary {
  id: string;
  name: string;
  agent: string;
  repo: string;
  branch: string;
  base: string;
  worktreePath: string;
  worktreeExists: boolean;
  tmuxSession: string;
  tmuxSocket: string | null;
  attachCommand: string;
  /** The tmux session exists on its server. */
  sessionAlive: boolean;
  /** The agent process in that session is running. */
  processAlive: boolean;
  /** Exit status of the agent process once it has ended, when tmux knows it. */
  exitStatus: number | null;
  recordState: AgentRecord['state'];
  /** "sandboxed": OS sandbox and egress gate; "unenforced": only the hook gate (the policy switched the sandbox off, or the agent predates it). */
  enforcement: 'sandboxed' | 'unenforced';
  createdAt: string;
  taskPreview: string;
}

/** Every live agent, with liveness probed now (one tmux call per tmux server). */
export async function listAgents(context: Context, records = context.store.listAgents(), paneOf?: (record: AgentRecord) => PaneInfo | undefined): Promise<AgentSummary[]> {
  const lookup = paneOf ?? (await livePanes(context, records));
  const enforcement = enforcementOf(context.store);
  return Promise.all(records.map((record) => summarize(context, record, lookup(record), enforcement)));
}

export async function getAgent(context: Context, name: string): Promise<AgentSummary> {
  const record = findLiveAgent(context, name);
  return summarize(context, record, await tmuxFor(context, record.tmuxSocket).pane(record.tmuxSession), enforcementOf(context.store));
}

async function summarize(context: Context, record: AgentRecord, pane: PaneInfo | undefined, enforcement: Map<string, AgentEnforcement>): Promise<AgentSummary> {
  const live = await liveness(context, record, pane);
  return {
    id: record.id,
    name: record.name,
    agent: record.agentKind,
    repo: record.repo,
    branch: record.branch,
    base: record.baseRef,
    worktreePath: record.worktreePath,
    worktreeExists: existsSync(record.worktreePath),
    tmuxSession: record.tmuxSession,
    tmuxSocket: record.tmuxSocket,
    attachCommand: tmuxFor(context, record.tmuxSocket).attachCommand(record.tmuxSession),
    sessionAlive: live.sessionAlive,
    processAlive: live.processAlive,
    exitStatus: live.exitStatus,
    recordState: record.state,
    enforcement: enforcement.get(record.id)?.sandboxed ? 'sandboxed' : 'unenforced',
    createdAt: new Date(record.createdAt).toISOString(),
    taskPreview: record.taskPreview,
  };
}
