import { childPids, isProcessAlive } from '../adapters/process.js';
import type { PaneInfo } from '../adapters/tmux.js';
import type { AgentRecord } from '../store/store.js';
import { agentDir, tmuxFor, type Context, readExitStatus } from '../core/index.js';

export interface Liveness {
  sessionAlive: boolean;
  processAlive: boolean;
  /** The agent CLI's pid: the one child of the pane's launch script. */
  agentPid: number | null;
  exitStatus: number | null;
}

/** Whether an agent's tmux session and agent process live, probed now, with its exit status once it ended. */
export async function liveness(context: Context, record: AgentRecord, pane: PaneInfo | undefined): Promise<Liveness> {
  const exitStatus = readExitStatus(agentDir(context, record.id)) ?? pane?.deadStatus ?? null;
  if (!pane) return { sessionAlive: false, processAlive: false, agentPid: null, exitStatus };
  if (pane.paneDead) return { sessionAlive: true, processAlive: false, agentPid: null, exitStatus };
  const agentPid = (await childPids(pane.panePid))[0] ?? null;
  return { sessionAlive: true, processAlive: agentPid !== null && isProcessAlive(agentPid), agentPid, exitStatus };
}


/** Every agent's pane, with one `tmux list-panes` per tmux server the agents use. */
export async function livePanes(context: Context, records: AgentRecord[]): Promise<(record: AgentRecord) => PaneInfo | undefined> {
  const bySocket = new Map<string | null, Map<string, PaneInfo>>();
  for (const socket of new Set(records.map((record) => record.tmuxSocket))) bySocket.set(socket, await tmuxFor(context, socket).listPanes());
  return (record) => bySocket.get(record.tmuxSocket)?.get(record.tmuxSession);
}
