import { existsSync, openSync, closeSync } from 'node:fs';
import type { TranscriptState } from '../state/index.js';
import { loadConfig, type Config } from '../config.js';
import { ConflictError, NotFoundError, UserInputError } from '../errors.js';
import type { AgentRecord } from '../store/store.js';
import { tmuxFor, type Context } from '../core/index.js';
import { audit } from '../gate/index.js';
import { agentStatus, refreshTranscripts } from '../state/index.js';
import { deliver } from './prompt.js';

/**
 * Budgets that stop spending. Spend is what the agents' transcripts say they
 * used (the running totals the state layer keeps), per agent, per repository
 * and for the fleet, over a sliding window; limits come from config.json
 * (`budgets`, read again at every check) and from spawn_agent's `budget`.
 * At `warnAt` of a limit the parent and the human hear of it; at the limit
 * the agent is interrupted, told why, and held: send_prompt refuses until a
 * human raises the limit or approves more (`ringmaster budget approve`).
 *
 * Fail closed: a spend that cannot be read (store or transcript unreadable,
 * a model with no price under a dollar limit, an agent CLI without a
 * transcript) is never taken as zero: it refuses new work.
 */

export type BudgetScope = 'agent' | 'repo' | 'fleet';

export interface Limits {
  usd?: number;
  tokens?: number;
}

export interface Spend {
  /** null: a model without a price, so dollars are unknown. */
  usd: number | null;
  tokens: number;
}

export interface BudgetReport {
  state: 'unlimited' | 'ok' | 'warning' | 'held' | 'unknown';
  /** This agent's spend in the window; null when unknown. */
  spentUsd: number | null;
  spentTokens: number | null;
  windowHours: number;
  /** Its own limits (spawn_agent budget or budgets.perAgent), plus what a human approved. */
  limitUsd: number | null;
  limitTokens: number | null;
  /** The scope nearest its limit, in words; why it is held; or why the spend is unknown. */
  reason: string;
  heldSince: string | null;
}

/** Thrown when spend cannot be known: counted as over the limit for new work. */
export class SpendUnknownError extends ConflictError {}

interface AgentBudgetRow {
  agent_id: string;
  usd: number | null;
  tokens: number | null;
  extra_usd: number;
  extra_tokens: number;
  held_at: number | null;
  held_reason: string | null;
  warned: string;
}

/** Re-read at every check: raising a limit in config.json needs no restart. An unreadable config is an unknown budget. */
function currentBudgets(context: Context): Config['budgets'] {
  try {
    return loadConfig(context.env).budgets;
  } catch (error) {
    throw new SpendUnknownError(`Refusing new work: the budgets in config.json cannot be read (${(error as Error).message}).`);
  }
}

const hasLimit = (limits: Limits) => limits.usd !== undefined || limits.tokens !== undefined;

function budgetRow(context: Context, agentId: string): AgentBudgetRow | undefined {
  return context.store.db.prepare(`SELECT * FROM agent_budgets WHERE agent_id = ?`).get(agentId) as AgentBudgetRow | undefined;
}

export function isHeld(context: Context, agentId: string): boolean {
  return Boolean(budgetRow(context, agentId)?.held_at);
}

/** Why an agent is held at its budget, or null when it is not. */
export function heldReason(context: Context, agentId: string): string | null {
  const row = budgetRow(context, agentId);
  return row?.held_at ? (row.held_reason ?? 'held at its budget') : null;
}

/** spawn_agent's `budget`: this agent's own limits, instead of budgets.perAgent. */
export function setAgentBudget(context: Context, agentId: string, limits: Limits, options: { checkOnly?: boolean } = {}): void {
  if (limits.usd !== undefined && !(limits.usd > 0)) throw new UserInputError('budget.usd must be a positive number of dollars.');
  if (limits.tokens !== undefined && !(Number.isInteger(limits.tokens) && limits.tokens > 0)) throw new UserInputError('budget.tokens must be a positive whole number.');
  if (limits.usd === undefined && limits.tokens === undefined) throw new UserInputError('budget needs usd and/or tokens.');
  if (options.checkOnly) return;
  context.store.db
    .prepare(
      `INSERT INTO agent_budgets (agent_id, usd, tokens, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (agent_id) DO UPDATE SET usd = excluded.usd, tokens = excluded.tokens, updated_at = excluded.updated_at`,
    )
    .run(agentId, limits.usd ?? null, limits.tokens ?? null, Date.now());
}

/** Everything an agent has spent since it started, from its transcripts; throws SpendUnknownError when that cannot be read. */
function lifetimeSpend(context: Context, record: AgentRecord): Spend {
  if (record.state === 'removed') {
    const last = context.store.db.prepare(`SELECT usd, tokens FROM spend_samples WHERE agent_id = ? ORDER BY at DESC LIMIT 1`).get(record.id) as Spend | undefined;
    return last ?? { usd: 0, tokens: 0 };
  }
  if (record.agentKind !== 'claude') throw new SpendUnknownError(`${record.agentKind} agents keep no transcript ringmaster can read, so the spend of "${record.name}" is unknown.`);
  const { transcriptPath } = context.store.claudeSession(record.id);
  // No session yet, or no first response written yet: nothing spent.
  if (!transcriptPath || !existsSync(transcriptPath)) return { usd: 0, tokens: 0 };
  try {
    closeSync(openSync(transcriptPath, 'r'));
    return spendOfUsage(refreshTranscripts(context.store, context.config, record.id, transcriptPath).usage);
  } catch (error) {
    throw new SpendUnknownError(`the spend of "${record.name}" cannot be read (${(error as Error).message}).`);
  }
}

function spendOfUsage(usage: TranscriptState['usage']): Spend {
  const buckets = [usage.main, usage.sidechain, usage.subagents];
  const tokens = buckets.reduce((sum, bucket) => sum + bucket.inputTokens + bucket.outputTokens + bucket.cacheCreationTokens + bucket.cacheReadTokens, 0);
  const usd = buckets.some((bucket) => bucket.costUsd === null) ? null : buckets.reduce((sum, bucket) => sum + bucket.costUsd!, 0);
  return { usd, tokens };
}

/** How often a spend sample is kept per agent. */
const SAMPLE_EVERY_MS = 60_000;

/** Spend inside the window: the lifetime spend now less the last sample from before the window began. */
function windowSpend(context: Context, record: AgentRecord, now: Spend, windowStart: number): Spend {
  const { store } = context;
  if (record.state !== 'removed') {
    const last = store.db.prepare(`SELECT at, tokens, usd FROM spend_samples WHERE agent_id = ? ORDER BY at DESC LIMIT 1`).get(record.id) as { at: number; tokens: number; usd: number | null } | undefined;
    if (!last || (Date.now() - last.at >= SAMPLE_EVERY_MS && (last.tokens !== now.tokens || last.usd !== now.usd))) {
      store.whenWritable(() => store.db.prepare(`INSERT OR REPLACE INTO spend_samples (agent_id, at, usd, tokens) VALUES (?, ?, ?, ?)`).run(record.id, Date.now(), now.usd, now.tokens));
    }
  }
  if (record.createdAt >= windowStart) return now;
  const before = (store.db.prepare(`SELECT usd, tokens FROM spend_samples WHERE agent_id = ? AND at <= ? ORDER BY at DESC LIMIT 1`).get(record.id, windowStart) ??
    store.db.prepare(`SELECT usd, tokens FROM spend_samples WHERE agent_id = ? ORDER BY at LIMIT 1`).get(record.id)) as Spend | undefined;
  if (!before) return now;
  return { usd: now.usd === null || before.usd === null ? null : Math.max(0, now.usd - before.usd), tokens: Math.max(0, now.tokens - before.tokens) };
}

interface Verdict {
  scope: BudgetScope;
  /** The largest share of a limit used, 0..∞. */
  share: number;
  words: string;
}

/** Agents whose spend counts in the window: live ones, and removed ones that ended inside it. */
function countedAgents(context: Context, windowStart: number): AgentRecord[] {
  return context.store.listAgents({ includeRemoved: true }).filter((record) => record.state !== 'removed' || (record.removedAt ?? 0) >= windowStart);
}

interface Ledger {
  budgets: Config['budgets'];
  windowStart: number;
  spend: Map<string, Spend | SpendUnknownError>;
  records: AgentRecord[];
}

function ledger(context: Context, look?: BudgetLook): Ledger {
  const budgets = look ? lookBudgets(look) : currentBudgets(context);
  const windowStart = Date.now() - budgets.windowHours * 3_600_000;
  let records: AgentRecord[];
  try {
    records = countedAgents(context, windowStart);
  } catch (error) {
    throw new SpendUnknownError(`Refusing new work: the spend so far cannot be read, so the budget cannot be checked (${(error as Error).message}).`);
  }
  const spend = look?.spend ?? new Map<string, Spend | SpendUnknownError>();
  for (const record of records) agentSpend(context, record, windowStart, spend, look?.lifetime);
  return { budgets, windowStart, spend, records };
}

/** An agent's spend inside the window, worked out once per look (memoized in `spend`). */
function agentSpend(context: Context, record: AgentRecord, windowStart: number, spend: Map<string, Spend | SpendUnknownError>, lifetime?: Map<string, Spend>): Spend | SpendUnknownError {
  let found = spend.get(record.id);
  if (found === undefined) {
    try {
      found = windowSpend(context, record, lifetime?.get(record.id) ?? lifetimeSpend(context, record), windowStart);
    } catch (error) {
      found = error instanceof SpendUnknownError ? error : new SpendUnknownError(`the spend of "${record.name}" cannot be read (${(error as Error).message}).`);
    }
    spend.set(record.id, found);
  }
  return found;
}

/**
 * One look at the budgets behind several reports (a read of the whole fleet):
 * config.json read once, each agent's spend and the fleet's ledger worked out
 * once, not once per agent reported.
 */
export interface BudgetLook {
  budgets: Config['budgets'] | Error;
  spend: Map<string, Spend | SpendUnknownError>;
  /** Lifetime spend of agents whose transcripts the caller has just read (noteTranscriptUsage). */
  lifetime: Map<string, Spend>;
  book?: Ledger | Error;
}

/** The caller has just read this live agent's transcripts: its lifetime spend need not be read again. */
export function noteTranscriptUsage(look: BudgetLook, agentId: string, usage: TranscriptState['usage']): void {
  look.lifetime.set(agentId, spendOfUsage(usage));
}

export function budgetLook(context: Context): BudgetLook {
  let budgets: BudgetLook['budgets'];
  try {
    budgets = currentBudgets(context);
  } catch (error) {
    budgets = error as Error;
  }
  return { budgets, spend: new Map(), lifetime: new Map() };
}

function lookBudgets(look: BudgetLook): Config['budgets'] {
  if (look.budgets instanceof Error) throw look.budgets;
  return look.budgets;
}

function lookLedger(context: Context, look: BudgetLook): Ledger {
  if (look.book === undefined) {
    try {
      look.book = ledger(context, look);
    } catch (error) {
      look.book = error as Error;
    }
  }
  if (look.book instanceof Error) throw look.book;
  return look.book;
}

function share(spent: Spend, limits: Limits, extra: { usd: number; tokens: number }): { share: number; words: string } {
  const parts: Array<{ share: number; words: string }> = [];
  if (limits.usd !== undefined) {
    const limit = limits.usd + extra.usd;
    parts.push(spent.usd === null ? { share: Infinity, words: 'dollars unknown (a model with no price)' } : { share: spent.usd / limit, words: `$${spent.usd.toFixed(2)} of $${limit.toFixed(2)}` });
  }
  if (limits.tokens !== undefined) {
    const limit = limits.tokens + extra.tokens;
    parts.push({ share: spent.tokens / limit, words: `${spent.tokens} of ${limit} tokens` });
  }
  return parts.sort((a, b) => b.share - a.share)[0] ?? { share: 0, words: 'no limit' };
}

function sum(spends: Spend[]): Spend {
  return spends.reduce<Spend>((total, spend) => ({ usd: total.usd === null || spend.usd === null ? null : total.usd + spend.usd, tokens: total.tokens + spend.tokens }), { usd: 0, tokens: 0 });
}

/** The verdicts that apply to an agent (its own, its repository's, the fleet's); throws SpendUnknownError. */
function verdicts(context: Context, book: Ledger, record: AgentRecord): Verdict[] {
  const row = budgetRow(context, record.id);
  const own: Limits = row && (row.usd !== null || row.tokens !== null) ? { usd: row.usd ?? undefined, tokens: row.tokens ?? undefined } : book.budgets.perAgent;
  const extra = { usd: row?.extra_usd ?? 0, tokens: row?.extra_tokens ?? 0 };
  const result: Verdict[] = [];
  const of = (records: AgentRecord[]) => {
    const spends = records.map((other) => book.spend.get(other.id)!);
    const unknown = spends.find((spend): spend is SpendUnknownError => spend instanceof SpendUnknownError);
    if (unknown) throw unknown;
    return sum(spends as Spend[]);
  };
  if (hasLimit(own)) result.push({ scope: 'agent', ...labelled('its own budget', share(of([record]), own, extra)) });
  if (hasLimit(book.budgets.perRepo)) {
    const inRepo = book.records.filter((other) => other.repo === record.repo && (other.agentKind === 'claude' || other.state === 'removed'));
    result.push({ scope: 'repo', ...labelled(`the budget of ${record.repo}`, share(of(inRepo), book.budgets.perRepo, extra)) });
  }
  if (hasLimit(book.budgets.fleet)) {
    const metered = book.records.filter((other) => other.agentKind === 'claude' || other.state === 'removed');
    result.push({ scope: 'fleet', ...labelled('the fleet budget', share(of(metered), book.budgets.fleet, extra)) });
  }
  return result;
}

function labelled(what: string, part: { share: number; words: string }): { share: number; words: string } {
  return { share: part.share, words: `${part.words} of ${what}` };
}

const anyLimit = (budgets: Config['budgets']) => hasLimit(budgets.perAgent) || hasLimit(budgets.perRepo) || hasLimit(budgets.fleet);

/** What read_agent_state shows about an agent's budget. Never throws: an unknown spend is its own state. */
export function budgetReport(context: Context, record: AgentRecord, look: BudgetLook = budgetLook(context)): BudgetReport {
  let row: AgentBudgetRow | undefined;
  let budgets: Config['budgets'] = context.config.budgets;
  try {
    budgets = lookBudgets(look);
    row = budgetRow(context, record.id);
    const own = row && (row.usd !== null || row.tokens !== null) ? { usd: row.usd ?? undefined, tokens: row.tokens ?? undefined } : budgets.perAgent;
    const base = {
      windowHours: budgets.windowHours,
      limitUsd: own.usd === undefined ? null : own.usd + (row?.extra_usd ?? 0),
      limitTokens: own.tokens === undefined ? null : own.tokens + (row?.extra_tokens ?? 0),
      heldSince: row?.held_at ? new Date(row.held_at).toISOString() : null,
    };
    if (row?.held_at) return { ...base, state: 'held', reason: row.held_reason ?? 'held at its budget', ...spentOf(context, record, budgets, look) };
    if (!anyLimit(budgets) && !(row && (row.usd !== null || row.tokens !== null))) return { ...base, state: 'unlimited', reason: 'no budget is set', ...spentOf(context, record, budgets, look) };
    const book = lookLedger(context, look);
    const found = verdicts(context, book, record).sort((a, b) => b.share - a.share)[0];
    const spent = book.spend.get(record.id);
    const spend = spent instanceof SpendUnknownError || !spent ? { spentUsd: null, spentTokens: null } : { spentUsd: spent.usd, spentTokens: spent.tokens };
    if (!found) return { ...base, state: 'ok', ...spend, reason: 'within budget' };
    const state = found.share >= 1 ? 'held' : found.share >= budgets.warnAt ? 'warning' : 'ok';
    return { ...base, state: state === 'held' ? 'warning' : state, ...spend, reason: `${Math.round(found.share * 100)}%: ${found.words}` };
  } catch (error) {
    return {
      state: 'unknown',
      spentUsd: null,
      spentTokens: null,
      windowHours: budgets.windowHours,
      limitUsd: null,
      limitTokens: null,
      heldSince: row?.held_at ? new Date(row.held_at).toISOString() : null,
      reason: `${(error as Error).message} New work is refused until it can be read.`,
    };
  }
}

function spentOf(context: Context, record: AgentRecord, budgets: Config['budgets'], look: BudgetLook): { spentUsd: number | null; spentTokens: number | null } {
  const spend = agentSpend(context, record, Date.now() - budgets.windowHours * 3_600_000, look.spend, look.lifetime);
  return spend instanceof Error ? { spentUsd: null, spentTokens: null } : { spentUsd: spend.usd, spentTokens: spend.tokens };
}

/** Before a new spawn: refused when the repository's or the fleet's budget is spent, or the spend cannot be known. */
export function assertMaySpawn(context: Context, repo: string): void {
  const budgets = currentBudgets(context);
  if (!hasLimit(budgets.perRepo) && !hasLimit(budgets.fleet)) return;
  const book = ledger(context);
  const check = (scope: string, records: AgentRecord[], limits: Limits) => {
    if (!hasLimit(limits)) return;
    const spends = records.map((record) => book.spend.get(record.id)!);
    const unknown = spends.find((spend): spend is SpendUnknownError => spend instanceof SpendUnknownError);
    if (unknown) throw new SpendUnknownError(`Refusing new work: ${unknown.message.replace(/^Refusing new work: /, '')} Fix that, or clean up the agent whose spend is unknown.`);
    const used = share(sum(spends as Spend[]), limits, { usd: 0, tokens: 0 });
    if (used.share >= 1) throw new ConflictError(`Refusing to spawn: ${scope} is spent (${used.words}) in the last ${budgets.windowHours} h. Raise budgets in config.json, or wait for the window to move.`);
  };
  const metered = book.records.filter((record) => record.agentKind === 'claude' || record.state === 'removed');
  check(`the budget of ${repo}`, metered.filter((record) => record.repo === repo), budgets.perRepo);
  check('the fleet budget', metered, budgets.fleet);
}

/** Before send_prompt: refused while the agent is held, over a limit, or its spend is unknown. */
export function assertMayPrompt(context: Context, record: AgentRecord): void {
  const row = budgetRow(context, record.id);
  if (row?.held_at) throw new ConflictError(`Agent "${record.name}" is held at its budget (${row.held_reason}). A human raises the limit in config.json (budgets) or approves more: ringmaster budget approve ${record.name} --usd <dollars> / --tokens <n>.`);
  const budgets = currentBudgets(context);
  if (!anyLimit(budgets) && !(row && (row.usd !== null || row.tokens !== null))) return;
  const book = ledger(context);
  let found: Verdict | undefined;
  try {
    found = verdicts(context, book, record).sort((a, b) => b.share - a.share)[0];
  } catch (error) {
    throw new SpendUnknownError(`Refusing new work for "${record.name}": ${(error as Error).message} Unknown spend counts as over the limit.`);
  }
  if (found && found.share >= 1) throw new ConflictError(`Agent "${record.name}" is at its budget (${found.words}). A human raises the limit or approves more: ringmaster budget approve ${record.name} --usd <dollars> / --tokens <n>.`);
}

export interface BudgetEvent {
  name: string;
  id: string;
  kind: 'warning' | 'held' | 'released';
  reason: string;
}

const BUSY = new Set(['working', 'waiting_permission', 'waiting_input', 'starting']);

/**
 * One round of enforcement (the server's monitor runs it): warn once per
 * scope as an agent passes `warnAt`, hold an agent that reached a limit
 * (interrupt it, tell it why), and let go of one whose limit was raised.
 * An unknown spend holds nothing that is running; it only refuses new work.
 */
export async function enforceBudgets(context: Context, emit: (event: BudgetEvent) => void = () => {}): Promise<void> {
  const { store } = context;
  let book: Ledger;
  try {
    if (!anyLimit(currentBudgets(context)) && !(store.db.prepare(`SELECT 1 FROM agent_budgets LIMIT 1`).get())) return;
    book = ledger(context);
  } catch {
    return; // unknown: new work is refused where it is asked for
  }
  for (const record of book.records) {
    if (record.state !== 'running') continue;
    let found: Verdict[];
    try {
      found = verdicts(context, book, record);
    } catch {
      continue;
    }
    const row = budgetRow(context, record.id);
    const worst = found.sort((a, b) => b.share - a.share)[0];
    if (row?.held_at) {
      if (!worst || worst.share < 1) {
        store.db.prepare(`UPDATE agent_budgets SET held_at = NULL, held_reason = NULL, updated_at = ? WHERE agent_id = ?`).run(Date.now(), record.id);
        note(context, record, 'released', `its limit was raised: ${worst?.words ?? 'no limit applies'}`, emit);
      }
      continue;
    }
    if (!worst) continue;
    if (worst.share >= 1) {
      const reason = `${worst.words} in the last ${book.budgets.windowHours} h`;
      store.db
        .prepare(
          `INSERT INTO agent_budgets (agent_id, held_at, held_reason, updated_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (agent_id) DO UPDATE SET held_at = excluded.held_at, held_reason = excluded.held_reason, updated_at = excluded.updated_at`,
        )
        .run(record.id, Date.now(), reason, Date.now());
      note(context, record, 'held', reason, emit);
      await pause(context, record, reason).catch(() => undefined);
      continue;
    }
    if (worst.share >= book.budgets.warnAt) {
      const key = `${worst.scope}:${worst.words.replace(/^[^ ]+ of /, '')}`;
      if (row?.warned.split('\n').includes(key)) continue;
      store.db
        .prepare(
          `INSERT INTO agent_budgets (agent_id, warned, updated_at) VALUES (?, ?, ?)
           ON CONFLICT (agent_id) DO UPDATE SET warned = agent_budgets.warned || char(10) || excluded.warned, updated_at = excluded.updated_at`,
        )
        .run(record.id, key, Date.now());
      note(context, record, 'warning', `${Math.round(worst.share * 100)}%: ${worst.words}`, emit);
    }
  }
}

function note(context: Context, record: AgentRecord, kind: BudgetEvent['kind'], reason: string, emit: (event: BudgetEvent) => void): void {
  context.store.addEvent(record.id, `budget_${kind}`, { reason });
  audit(context.store, { agentId: record.id, agentName: record.name, requestId: null, category: 'budget', tool: null, summary: reason, outcome: kind, actor: kind === 'released' ? 'human' : 'ringmaster', note: null });
  emit({ name: record.name, id: record.id, kind, reason });
}

/** Interrupts a held agent's turn and tells it why, so it stops rather than waits blind. */
async function pause(context: Context, record: AgentRecord, reason: string): Promise<void> {
  const tmux = tmuxFor(context, record.tmuxSocket);
  const deadline = Date.now() + 15_000;
  for (;;) {
    const status = await agentStatus(context, record);
    if (status.state === 'exited') return;
    if (!BUSY.has(status.state)) break;
    if (Date.now() > deadline) return;
    await tmux.sendKeys(record.tmuxSession, ['Escape']);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  await deliver(
    context,
    record,
    `ringmaster: you have reached your budget (${reason}). Stop here: do not start any more work. Reply with one short line saying where you stopped; a human will raise the budget or approve more before you continue.`,
    20_000,
  );
}

/** `ringmaster budget approve`: a human allows an agent more, and lets go of its hold. */
export function approveBudget(context: Context, name: string, more: { usd?: number; tokens?: number }, actor = 'human'): BudgetReport {
  if (more.usd === undefined && more.tokens === undefined) throw new UserInputError('Say how much more: --usd <dollars> and/or --tokens <n>.');
  if ((more.usd !== undefined && !(more.usd > 0)) || (more.tokens !== undefined && !(more.tokens > 0))) throw new UserInputError('--usd and --tokens must be positive.');
  const record = context.store.findAgentByName(name);
  if (!record || record.state === 'removed') throw new NotFoundError(`No agent named ${JSON.stringify(name)}. Run ringmaster ls to see the agents.`);
  context.store.db
    .prepare(
      `INSERT INTO agent_budgets (agent_id, extra_usd, extra_tokens, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (agent_id) DO UPDATE SET extra_usd = agent_budgets.extra_usd + excluded.extra_usd, extra_tokens = agent_budgets.extra_tokens + excluded.extra_tokens,
         held_at = NULL, held_reason = NULL, warned = '', updated_at = excluded.updated_at`,
    )
    .run(record.id, more.usd ?? 0, more.tokens ?? 0, Date.now());
  const what = [more.usd !== undefined ? `$${more.usd}` : '', more.tokens !== undefined ? `${more.tokens} tokens` : ''].filter(Boolean).join(' and ');
  context.store.addEvent(record.id, 'budget_approved', { usd: more.usd ?? 0, tokens: more.tokens ?? 0 });
  audit(context.store, { agentId: record.id, agentName: record.name, requestId: null, category: 'budget', tool: null, summary: `approved ${what} more`, outcome: 'approved', actor, note: null });
  return budgetReport(context, record);
}
