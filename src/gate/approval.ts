import { UserInputError } from '../errors.js';
import { loadPolicy } from './policy.js';
import { CATEGORIES } from './policy.js';
import type { Context } from '../core/index.js';
import { type ApprovalScope, createRequest, decide, expireOverdue, getRequest, parentMayApprove, type PermissionRequest, UNKNOWN_HOST_CATEGORY } from './permissions.js';

export interface ApprovalInput {
  /** A child's pending request; omit to ask for the parent's own action. */
  requestId?: string;
  /** For the parent's own action: which gated category and what it is. */
  category?: string;
  action?: string;
  /** The parent's own verdict: deny is always allowed, approve only where policy makes the parent an approver. */
  decision?: 'approve' | 'deny';
  minutes?: number;
  note?: string;
}

/** Asks the human through the MCP client (elicitation); undefined when the client cannot. */
export type AskHuman = (request: PermissionRequest) => Promise<{ approve: boolean; minutes?: number; scope?: ApprovalScope; note?: string } | 'no decision'>;

export interface ApprovalResult {
  request: PermissionRequest;
  outcome: 'approved' | 'denied' | 'pending' | 'expired';
  /** What a human runs to decide, when nobody has yet. */
  humanCommands: string[];
  notes: string[];
}

/**
 * The approval flow behind request_permission: the parent may deny anything
 * and approve only what the user's policy lets it; everything else goes to
 * the human, through an elicitation dialog when the client has one, or as
 * the exact `ringmaster approve` command to run.
 */
export async function requestApproval(context: Context, input: ApprovalInput, askHuman?: AskHuman): Promise<ApprovalResult> {
  const policy = loadPolicy(context.config.home);
  const notes: string[] = [];
  let request: PermissionRequest;
  if (input.requestId) {
    expireOverdue(context.store);
    request = getRequest(context.store, input.requestId);
  } else {
    if (!input.category || !input.action) throw new UserInputError('Pass request_id for a child\'s request, or category and action for your own.');
    if (!(CATEGORIES as readonly string[]).includes(input.category)) throw new UserInputError(`category must be one of ${CATEGORIES.join(', ')}.`);
    request = createRequest(context.store, {
      agentId: null,
      agentName: 'parent',
      tool: 'parent',
      summary: input.action,
      category: input.category,
      reason: 'the parent session asks before acting',
      waitSeconds: policy.waitSeconds,
    });
  }
  const result = (outcome: ApprovalResult['outcome']): ApprovalResult => ({
    request,
    outcome,
    humanCommands:
      outcome === 'pending'
        ? [
            `ringmaster approve ${request.id}`,
            `ringmaster approve ${request.id} --for 30m`,
            ...(request.category === UNKNOWN_HOST_CATEGORY && request.resource ? [`ringmaster approve ${request.id} --agent-always`, `ringmaster approve ${request.id} --always`] : []),
            `ringmaster deny ${request.id} --reason "…"`,
          ]
        : [],
    notes,
  });
  if (request.state !== 'pending') {
    notes.push(`Request ${request.id} was already ${request.state}${request.decidedBy ? ` by ${request.decidedBy}` : ''}.`);
    return result(request.state);
  }

  if (input.decision === 'deny') {
    request = decide(context.store, request.id, { approve: false, actor: 'parent', note: input.note });
    return result('denied');
  }
  if (input.decision === 'approve') {
    if (!parentMayApprove(policy, request.category)) {
      throw new UserInputError(
        `Category ${request.category} needs a human's approval; the parent may only deny it. Call request_permission without decision to ask the human, or have them run: ringmaster approve ${request.id}`,
      );
    }
    request = decide(context.store, request.id, { approve: true, actor: 'parent', note: input.note, minutes: input.minutes });
    return result('approved');
  }

  if (!askHuman) {
    notes.push('This client cannot show an approval dialog; the request stays pending until a human runs one of the commands below.');
    return result('pending');
  }
  const answer = await askHuman(request);
  if (answer === 'no decision') {
    notes.push('The human closed the dialog without deciding; the request stays pending.');
    return result('pending');
  }
  request = decide(context.store, request.id, {
    approve: answer.approve,
    actor: 'human (dialog)',
    note: answer.note,
    minutes: answer.approve ? answer.minutes : undefined,
    scope: answer.approve ? answer.scope : undefined,
  });
  return result(answer.approve ? 'approved' : 'denied');
}
