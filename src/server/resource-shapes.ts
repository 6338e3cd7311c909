import type { StatusChange } from '../fleet/index.js';
import type { AgentRecord } from '../store/store.js';

/**
 * What the agents resources look like on the wire, without the MCP SDK: the
 * SDK's server (resources.ts) and the stdio front that answers before the SDK
 * is loaded (front.ts) both build from these, so they cannot drift apart.
 */
export const AGENTS_URI = 'ringmaster://agents';
export const agentUri = (name: string): string => `${AGENTS_URI}/${encodeURIComponent(name)}`;

export const AGENTS_RESOURCE = { title: 'All agents', description: 'Every agent with its live status. Subscribe to hear about status changes.', mimeType: 'application/json' };
export const AGENT_TEMPLATE = { title: 'One agent', description: "One agent's live status.", mimeType: 'application/json' };

/** One agent as `resources/list` lists it (the template's list callback). */
export function agentListEntry(record: AgentRecord): { uri: string; name: string; mimeType: string } {
  return { uri: agentUri(record.name), name: record.name, mimeType: 'application/json' };
}

/** The log message every session hears about a status change, or undefined for an agent's first status. */
export function statusLogMessage(change: StatusChange): { level: 'info' | 'warning'; logger: string; data: string } | undefined {
  if (change.from === null) return undefined;
  return { level: change.to.state === 'exited' ? 'warning' : 'info', logger: 'ringmaster', data: `${change.name}: ${change.from} -> ${change.to.state} (${change.to.reason})` };
}
