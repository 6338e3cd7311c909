import type { LinearClient } from '@linear/sdk';
import { linearClient, linearError } from '../adapters/linear.js';
import { NotFoundError, UserInputError } from '../errors.js';
import type { AgentRecord } from '../store/store.js';
import type { Context, ProgressReporter } from '../core/index.js';
import { assertRoomFor, slugify, spawnAgent, type SpawnInput, type SpawnResult } from '../fleet/index.js';

export interface Ticket {
  id: string;
  identifier: string;
  title: string;
  description: string | null;
  url: string;
  branchName: string;
  state: string | null;
}

const IDENTIFIER = /^[A-Za-z][A-Za-z0-9]*-\d+$/;

export async function fetchTicket(context: Context, identifier: string, client?: LinearClient): Promise<Ticket> {
  client ??= await linearClient(context.env);
  if (!IDENTIFIER.test(identifier)) throw new UserInputError(`linear_issue ${JSON.stringify(identifier)} is not a Linear identifier like ENG-123.`);
  let issue;
  try {
    issue = await client.issue(identifier);
  } catch (error) {
    throw linearError(error, `fetching ${identifier}`);
  }
  if (!issue) throw new NotFoundError(`Linear has no ticket ${identifier}. Check the identifier.`);
  const state = await issue.state?.catch(() => undefined);
  return { id: issue.id, identifier: issue.identifier, title: issue.title, description: issue.description ?? null, url: issue.url, branchName: issue.branchName, state: state?.name ?? null };
}

/** The task an agent gets from a ticket: title, link and description. */
export function taskFromTicket(ticket: Ticket, extra?: string): string {
  return [`${ticket.identifier}: ${ticket.title}`, `Linear ticket: ${ticket.url}`, '', ticket.description?.trim() || '(The ticket has no description.)', ...(extra ? ['', extra] : [])].join('\n');
}

/**
 * spawn_agent with linear_issue: the ticket's title and description become the
 * task (any given task is added), its suggested branch the branch, its
 * identifier the name; the agent is linked to the ticket once it runs.
 */
export async function spawnForTicket(context: Context, identifier: string, request: SpawnInput, progress: ProgressReporter = () => {}): Promise<SpawnResult> {
  // A ticket's spawn starts now or not at all: past the live-agent cap it is refused, with why.
  await assertRoomFor(context, await context.git.resolveRepo(request.repo), 1);
  progress(`Fetching Linear ticket ${identifier}`);
  const ticket = await fetchTicket(context, identifier);
  const spawned = await spawnAgent(
    context,
    {
      ...request,
      task: taskFromTicket(ticket, request.task?.trim() ? request.task : undefined),
      branch: request.branch ?? ticket.branchName,
      name: request.name ?? slugify(ticket.identifier, 40),
    },
    progress,
  );
  recordTicket(context, spawned.id, ticket);
  return { ...spawned, linear: { identifier: ticket.identifier, url: ticket.url } };
}

export function recordTicket(context: Context, agentId: string, ticket: Ticket): void {
  context.store.db.prepare(`UPDATE agents SET linear_issue = ?, linear_url = ?, updated_at = ? WHERE id = ?`).run(ticket.identifier, ticket.url, Date.now(), agentId);
}

/**
 * When an agent's PR opens: attach its URL to the agent's ticket and move the
 * ticket to the review state (LINEAR_REVIEW_STATE, default "In Review").
 * Returns notes; an agent without a ticket gets none.
 */
export async function linkPrToTicket(context: Context, record: AgentRecord, prUrl: string, client?: LinearClient): Promise<string[]> {
  const row = context.store.db.prepare(`SELECT linear_issue FROM agents WHERE id = ?`).get(record.id) as { linear_issue: string | null } | undefined;
  if (!row?.linear_issue) return [];
  const linear = client ?? (await linearClient(context.env));
  const stateName = context.env.LINEAR_REVIEW_STATE || 'In Review';
  try {
    const issue = await linear.issue(row.linear_issue);
    await linear.attachmentLinkURL(issue.id, prUrl, { title: `Pull request by ringmaster agent ${record.name}` });
    const team = await issue.team;
    const states = await linear.workflowStates({ filter: { team: { id: { eq: team?.id } }, name: { eqIgnoreCase: stateName } } });
    const target = states.nodes[0];
    if (!target) return [`Attached the PR to ${row.linear_issue}, but its team has no "${stateName}" state; set LINEAR_REVIEW_STATE.`];
    await linear.updateIssue(issue.id, { stateId: target.id });
    return [`Attached the PR to ${row.linear_issue} and moved it to "${target.name}".`];
  } catch (error) {
    return [`The PR is open, but updating Linear ticket ${row.linear_issue} failed: ${linearError(error, 'linking the PR').message}`];
  }
}

export async function listTickets(
  context: Context,
  options: { team?: string; mine?: boolean; states?: string[]; labels?: string[]; limit?: number },
  client?: LinearClient,
): Promise<Ticket[]> {
  client ??= await linearClient(context.env);
  const filter: Record<string, unknown> = {};
  if (options.mine ?? !options.team) filter.assignee = { isMe: { eq: true } };
  if (options.team) filter.team = { key: { eq: options.team } };
  if (options.states?.length) filter.state = { name: { in: options.states } };
  if (options.labels?.length) filter.labels = { name: { in: options.labels } };
  try {
    const issues = await client.issues({ filter, first: options.limit ?? 50 });
    return Promise.all(
      issues.nodes.map(async (issue) => ({
        id: issue.id,
        identifier: issue.identifier,
        title: issue.title,
        description: issue.description ?? null,
        url: issue.url,
        branchName: issue.branchName,
        state: (await issue.state?.catch(() => undefined))?.name ?? null,
      })),
    );
  } catch (error) {
    throw linearError(error, 'listing tickets');
  }
}

export async function createTicket(
  context: Context,
  input: { team: string; title: string; description?: string; labels?: string[] },
  client?: LinearClient,
): Promise<Ticket> {
  client ??= await linearClient(context.env);
  if (!input.title.trim()) throw new UserInputError('title is empty. Give the ticket a title.');
  try {
    const teams = await client.teams({ filter: { key: { eq: input.team } } });
    const team = teams.nodes[0];
    if (!team) throw new NotFoundError(`Linear has no team with key ${input.team}. Use the team key shown in ticket identifiers, e.g. ENG.`);
    let labelIds: string[] | undefined;
    if (input.labels?.length) {
      const labels = await client.issueLabels({ filter: { name: { in: input.labels } } });
      const missing = input.labels.filter((name) => !labels.nodes.some((label) => label.name === name));
      if (missing.length) throw new NotFoundError(`Linear has no label(s) ${missing.join(', ')}. Create them first or drop them.`);
      labelIds = labels.nodes.map((label) => label.id);
    }
    const created = await client.createIssue({ teamId: team.id, title: input.title, description: input.description, labelIds });
    const issue = await created.issue;
    if (!issue) throw new NotFoundError('Linear created the ticket but did not return it.');
    return { id: issue.id, identifier: issue.identifier, title: issue.title, description: issue.description ?? null, url: issue.url, branchName: issue.branchName, state: null };
  } catch (error) {
    if (error instanceof NotFoundError) throw error;
    throw linearError(error, 'creating a ticket');
  }
}
