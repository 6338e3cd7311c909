import { createHash } from 'node:crypto';
import type { StatusChange } from '../fleet/index.js';
import { describeOverlap, overlapKey, type AgentOverlap } from '../state/index.js';

/** Something a human should hear about. */
export interface Notice {
  agent: string;
  agentId: string;
  kind: 'permission' | 'input' | 'finished' | 'failed' | 'stalled' | 'budget' | 'overlap' | 'test';
  state: string;
  title: string;
  message: string;
  /** When the status began (ISO): with agent and kind, the notice's identity across processes. */
  since: string;
  /** Permission requests hold an agent until someone answers, so they skip the rate limit and ring louder. */
  urgent: boolean;
}

/**
 * Which status changes a human hears about, pure. A server's first look at
 * the fleet (from null) is a baseline, not news, so it says nothing.
 */
export function noticeFor(change: StatusChange): Notice | undefined {
  if (change.from === null || change.from === change.to.state) return undefined;
  const { name, id, to } = change;
  const base = { agent: name, agentId: id, state: to.state, since: to.since };
  switch (to.state) {
    case 'waiting_permission':
      return { ...base, kind: 'permission', urgent: true, title: `${name} needs approval`, message: `${to.reason}. Decide with: ringmaster permissions` };
    case 'stalled':
      return { ...base, kind: 'stalled', urgent: false, title: `${name} is stalled`, message: `${to.reason}. Look with: ringmaster peek ${name}` };
    case 'waiting_input':
      return { ...base, kind: 'input', urgent: false, title: `${name} is asking a question`, message: `${to.reason}. Answer with: ringmaster attach ${name}` };
    case 'idle':
      if (change.from !== 'working' && change.from !== 'starting') return undefined;
      return { ...base, kind: 'finished', urgent: false, title: `${name} finished its turn`, message: `Idle and waiting for the next prompt. See: ringmaster peek ${name}` };
    case 'exited':
      return to.exitStatus === 0
        ? { ...base, kind: 'finished', urgent: false, title: `${name} exited`, message: `The agent process ended normally. See: ringmaster peek ${name}` }
        : { ...base, kind: 'failed', urgent: false, title: `${name} stopped`, message: `${to.reason}. See: ringmaster peek ${name}` };
    default:
      return undefined;
  }
}

export function stalledNotice(name: string, id: string, state: string, since: string, seconds: number): Notice {
  return {
    agent: name,
    agentId: id,
    kind: 'stalled',
    state,
    since,
    urgent: false,
    title: `${name} may be stuck`,
    message: `${state} for ${Math.round(seconds / 60)} min with no change. Look with: ringmaster peek ${name}`,
  };
}

/** A budget warning, a hold at the limit, or a hold let go (src/fleet/budget.ts). */
export function budgetNotice(event: { name: string; id: string; kind: 'warning' | 'held' | 'released'; reason: string }): Notice {
  const title = event.kind === 'warning' ? `${event.name} is near its budget` : event.kind === 'held' ? `${event.name} reached its budget and is held` : `${event.name} may spend again`;
  const next = event.kind === 'held' ? `Approve more with: ringmaster budget approve ${event.name} --usd <dollars>` : `See: ringmaster budget`;
  return { agent: event.name, agentId: event.id, kind: 'budget', state: `budget_${event.kind}`, since: new Date().toISOString(), urgent: event.kind === 'held', title, message: `${event.reason}. ${next}` };
}

/**
 * Two live agents change the same files, or their branches would conflict.
 * The notice's identity is what the overlap says (its "since" is derived from
 * it), so every process that sees the same overlap claims the same notice and
 * exactly one sends it; a changed overlap is a new notice.
 */
export function overlapNotice(agentId: string, overlap: AgentOverlap): Notice {
  const digest = createHash('sha256').update(overlapKey(overlap)).digest();
  return {
    agent: overlap.agent,
    agentId,
    kind: 'overlap',
    state: 'overlap',
    since: new Date(digest.readUIntBE(0, 5)).toISOString(),
    urgent: false,
    title: `${overlap.agent} overlaps another agent`,
    message: `${describeOverlap(overlap)}. See: ringmaster ls`,
  };
}
