import { existsSync } from 'node:fs';
import type { PaneInfo } from '../adapters/tmux.js';
import { NotFoundError } from '../errors.js';
import type { AgentRecord } from '../store/store.js';
import { tmuxFor, type Context } from './context.js';
import { liveness } from './liveness.js';

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
  createdAt: string;
  taskPreview: string;
}

/** Every live agent, with liveness probed now (one tmux call per tmux server). */
export async function listAgents(context: Context): Promise<AgentSummary[]> {
  const records = context.store.listAgents();
  const panesBySocket = new Map<string | null, Map<string, PaneInfo>>();
  for (const socket of new Set(records.map((record) => record.tmuxSocket))) {
    panesBySocket.set(socket, await tmuxFor(context, socket).listPanes());
  }
  return records.map((record) => summarize(context, record, panesBySocket.get(record.tmuxSocket)?.get(record.tmuxSession)));
}

export async function getAgent(context: Context, name: string): Promise<AgentSummary> {
  const record = context.store.findAgentByName(name);
  if (!record || record.state === 'removed') {
    throw new NotFoundError(`No agent named ${JSON.stringify(name)}. Run list_agents (or ringmaster status) to see the agents that exist.`);
  }
  const pane = await tmuxFor(context, record.tmuxSocket).pane(record.tmuxSession);
  return summarize(context, record, pane);
}

function summarize(context: Context, record: AgentRecord, pane: PaneInfo | undefined): AgentSummary {
  const live = liveness(context, record, pane);
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
    createdAt: new Date(record.createdAt).toISOString(),
    taskPreview: record.taskPreview,
  };
}
