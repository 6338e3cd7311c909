import { randomBytes } from 'node:crypto';
import { NotFoundError, UserInputError } from '../errors.js';
import type { AgentKind, AgentRecord } from '../store/store.js';
import type { Context, ProgressReporter } from '../core/index.js';
import { cleanupAgent } from './cleanup.js';
import { nameFromTask, validateName } from './names.js';
import { spawnAgent, type SpawnInput, type SpawnResult } from './spawn.js';
import { assertRoomFor } from './queue.js';
import { setAgentBudget, type Limits } from './budget.js';

/**
 * Best-of-N: several agents on the same task from the same base commit, each
 * on its own branch and worktree (`<name>-a1` … `<name>-aN`), grouped as one
 * run in the store (`attempt_groups`, `attempts`). compare.ts measures them,
 * forge/pick.ts keeps one.
 */

export const MIN_ATTEMPTS = 2;
export const MAX_ATTEMPTS = 5;

export interface SpawnAttemptsInput extends SpawnInput {
  attempts: number;
  /** Per attempt, in order; a missing entry uses `agent`. */
  agents?: AgentKind[];
  /** Per attempt, in order; a missing entry uses `model`. */
  models?: string[];
  /** Each attempt's own spend limit (spawn_agent budget). */
  budget?: Limits;
}

export interface AttemptGroup {
  id: string;
  name: string;
  repo: string;
  baseRef: string;
  baseCommit: string;
  createdAt: number;
  pickedAgentId: string | null;
  attempts: Array<{ attempt: number; agent: AgentRecord }>;
}

export interface SpawnAttemptsResult {
  group: string;
  name: string;
  attempts: SpawnResult[];
}

/**
 * Spawns every attempt in turn. If one fails, the attempts already running are
 * cleaned up (force: they are seconds old and part of a run that did not
 * happen) and their rows and the group are deleted, so nothing is half-made.
 */
export async function spawnAttempts(context: Context, input: SpawnAttemptsInput, progress: ProgressReporter = () => {}): Promise<SpawnAttemptsResult> {
  const count = input.attempts;
  if (!Number.isInteger(count) || count < MIN_ATTEMPTS || count > MAX_ATTEMPTS) {
    throw new UserInputError(`attempts must be a whole number from ${MIN_ATTEMPTS} to ${MAX_ATTEMPTS}; got ${count}. For one agent, leave attempts out.`);
  }
  for (const [what, list] of [['agents', input.agents], ['models', input.models]] as const) {
    if (list && list.length > count) throw new UserInputError(`${what} has ${list.length} entries but attempts is ${count}. Give at most one per attempt.`);
  }
  if (typeof input.task !== 'string' || input.task.trim() === '') throw new UserInputError('task is empty. Describe what the agents should do.');
  const baseName = input.name === undefined ? nameFromTask(input.task).slice(0, 36) : validateName(input.name);
  if (baseName.length > 37) throw new UserInputError(`name ${JSON.stringify(baseName)} is too long for attempts: at most 37 characters, so that "-a${count}" fits in 40.`);
  const names = Array.from({ length: count }, (_, index) => `${baseName}-a${index + 1}`);
  for (const name of names) {
    const existing = context.store.findAgentByName(name);
    if (existing && existing.state !== 'removed') {
      throw new UserInputError(`An agent named "${name}" already exists. Pick another name for the attempts.`);
    }
  }

  const repo = await context.git.resolveRepo(input.repo);
  const baseRef = input.base ?? (await context.git.currentBranch(repo)) ?? 'HEAD';
  const baseCommit = await context.git.resolveCommit(repo, baseRef);
  if (!baseCommit) throw new UserInputError(`base ${JSON.stringify(baseRef)} does not exist in ${repo}. Pass an existing branch, tag or commit.`);

  await assertRoomFor(context, repo, count);
  if (input.budget) setAgentBudget(context, '(check)', input.budget, { checkOnly: true });

  const groupId = `grp_${randomBytes(6).toString('hex')}`;
  context.store.db
    .prepare(`INSERT INTO attempt_groups (id, name, repo, base_ref, base_commit, created_at) VALUES (?, ?, ?, ?, ?, ?)`)
    .run(groupId, baseName, repo, baseRef, baseCommit, Date.now());
  const spawned: SpawnResult[] = [];
  try {
    for (const [index, name] of names.entries()) {
      progress(`Attempt ${index + 1} of ${count}: ${name}`);
      const result = await spawnAgent(
        context,
        {
          ...input,
          name,
          base: baseRef,
          branch: input.branch ? `${input.branch}-a${index + 1}` : undefined,
          agent: input.agents?.[index] ?? input.agent,
          model: input.models?.[index] ?? input.model,
        },
        progress,
      );
      spawned.push(result);
      if (input.budget) setAgentBudget(context, result.id, input.budget);
      context.store.db.prepare(`INSERT INTO attempts (group_id, agent_id, attempt) VALUES (?, ?, ?)`).run(groupId, result.id, index + 1);
      if (result.baseCommit !== baseCommit) {
        throw new UserInputError(`${baseRef} moved while the attempts were being spawned (${baseCommit.slice(0, 10)} → ${result.baseCommit.slice(0, 10)}); attempts must share one base. Try again, or pass a commit as base.`);
      }
    }
  } catch (error) {
    const leftovers: string[] = [];
    for (const result of spawned.reverse()) {
      try {
        await cleanupAgent(context, { name: result.name, force: true, deleteBranch: true });
        context.store.deleteAgent(result.id);
      } catch (undoError) {
        leftovers.push(`${result.name} (${(undoError as Error).message})`);
      }
    }
    context.store.db.prepare(`DELETE FROM attempt_groups WHERE id = ?`).run(groupId);
    if (error instanceof Error) {
      error.message = `Attempt ${spawned.length + (spawned.length < count ? 1 : 0)} of ${count} failed, so none was kept: ${error.message}`;
      if (leftovers.length > 0) error.message += ` Removing the attempts already spawned also failed for: ${leftovers.join('; ')}; run cleanup_worktree on them with force: true.`;
    }
    throw error;
  }
  return { group: groupId, name: baseName, attempts: spawned };
}

interface GroupRow {
  id: string;
  name: string;
  repo: string;
  base_ref: string;
  base_commit: string;
  created_at: number;
  picked_agent_id: string | null;
}

/** A group by its id, its name, or the name of one of its attempts; the newest when a name was reused. */
export function findAttemptGroup(context: Context, ref: string): AttemptGroup {
  const { db } = context.store;
  const row = (db.prepare(`SELECT * FROM attempt_groups WHERE id = ?`).get(ref) ??
    db.prepare(`SELECT * FROM attempt_groups WHERE name = ? ORDER BY created_at DESC LIMIT 1`).get(ref) ??
    db
      .prepare(`SELECT g.* FROM attempt_groups g JOIN attempts a ON a.group_id = g.id JOIN agents ag ON ag.id = a.agent_id WHERE ag.name = ? ORDER BY g.created_at DESC LIMIT 1`)
      .get(ref)) as GroupRow | undefined;
  if (!row) throw new NotFoundError(`No attempt group ${JSON.stringify(ref)}. Pass the group id or name that spawn_agent with attempts returned, or the name of one attempt.`);
  const members = db.prepare(`SELECT agent_id, attempt FROM attempts WHERE group_id = ? ORDER BY attempt`).all(row.id) as Array<{ agent_id: string; attempt: number }>;
  return {
    id: row.id,
    name: row.name,
    repo: row.repo,
    baseRef: row.base_ref,
    baseCommit: row.base_commit,
    createdAt: row.created_at,
    pickedAgentId: row.picked_agent_id,
    attempts: members.flatMap((member) => {
      const agent = context.store.getAgent(member.agent_id);
      return agent ? [{ attempt: member.attempt, agent }] : [];
    }),
  };
}

/** The group an agent belongs to, if any: other views mention it. */
export function attemptOf(context: Context, agentId: string): { groupId: string; attempt: number } | undefined {
  const row = context.store.db.prepare(`SELECT group_id, attempt FROM attempts WHERE agent_id = ?`).get(agentId) as { group_id: string; attempt: number } | undefined;
  return row && { groupId: row.group_id, attempt: row.attempt };
}

export function markPicked(context: Context, groupId: string, agentId: string): void {
  context.store.db.prepare(`UPDATE attempt_groups SET picked_agent_id = ?, picked_at = ? WHERE id = ?`).run(agentId, Date.now(), groupId);
}
