/**
 * The slow path of the PreToolUse gate (the compiled helper or gate.sh runs
 * first and lets ordinary calls through without starting Node, the helper
 * with the classifier service's help: gate/hook-call.ts). It must fail closed: Claude Code lets
 * a call proceed when a hook crashes or prints nothing, so every error here
 * ends in an explicit deny, and gate.sh denies if this process itself dies.
 *
 * Deliberately free of the MCP SDK: only the policy, the classifier and the store.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { audit, createRequest, expireOverdue, getRequest, hasGrant } from '../gate/permissions.js';
import type { Finding } from '../gate/classify.js';
import { classifyHookCall } from '../gate/hook-call.js';
import { Store } from '../store/store.js';

const POLL_MS = 250;

/**
 * What the egress gate refused since the agent's last tool call, in words
 * (`--notices <file>`, given by the compiled gate and gate.sh only when that
 * file has something): an HTTPS client shows the model only "403". Children
 * have no PostToolUse hook for Bash (spawn.ts), so the next call's PreToolUse
 * carries it, as additionalContext beside whatever the gate decides. Read and
 * emptied once; a file that cannot be read is no reason to block a call.
 */
const notices = ((): string | undefined => {
  const at = process.argv.indexOf('--notices');
  const path = at === -1 ? undefined : process.argv[at + 1];
  if (!path) return undefined;
  try {
    // As the recorders tell it: control characters other than line ends become spaces.
    // eslint-disable-next-line no-control-regex
    const text = readFileSync(path, 'utf8').trim().replace(/[\u0000-\u0009\u000b-\u001f\u007f]/g, ' ');
    writeFileSync(path, '');
    return text || undefined;
  } catch {
    return undefined;
  }
})();

function deny(reason: string): never {
  process.stdout.write(`${JSON.stringify({ hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision: 'deny', permissionDecisionReason: reason, ...(notices ? { additionalContext: notices } : {}) } })}\n`);
  process.exit(0);
}

/** The call goes on (no decision: Claude's own permission rules apply), with the notices if there are any. */
function proceed(): void {
  if (notices) process.stdout.write(`${JSON.stringify({ hookSpecificOutput: { hookEventName: 'PreToolUse', additionalContext: notices } })}\n`);
}

async function main(): Promise<void> {
  const payload = JSON.parse(readFileSync(0, 'utf8')) as { tool_name?: string; tool_input?: Record<string, unknown>; cwd?: string };
  // A broken policy must not open the gate: classify with the defaults, and deny whatever they gate.
  const call = classifyHookCall(payload, process.env, process.cwd());
  if ('error' in call) deny(`ringmaster gate: ${call.error}; denied.`);
  const { home, toolName, toolInput, policy, policyError, findings } = call;
  if (findings.length === 0) return; // ordinary: no output, the call proceeds
  const summary = toolName === 'Bash' ? String(toolInput.command ?? '') : `${toolName} ${JSON.stringify(toolInput).slice(0, 500)}`;
  if (policyError) deny(`ringmaster gate: ${policyError}`);

  const store = new Store(join(home, 'state.db'));
  const agentId = process.env.RINGMASTER_AGENT_ID ?? null;
  const agentName = process.env.RINGMASTER_AGENT_NAME ?? null;
  const selfApproval = findings.find((finding) => finding.category === 'self_approval');
  if (selfApproval) {
    audit(store, { agentId, agentName, requestId: null, category: 'self_approval', tool: toolName, summary, outcome: 'denied', actor: 'gate', note: selfApproval.reason });
    deny(`ringmaster gate: denied, ${selfApproval.reason}. Approvals come from the parent session or a human, never from an agent.`);
  }

  const needed = categoriesOf(findings).filter((category) => !hasGrant(store, agentId, category));
  if (needed.length === 0) {
    for (const category of categoriesOf(findings)) audit(store, { agentId, agentName, requestId: null, category, tool: toolName, summary, outcome: 'allowed by grant', actor: 'gate', note: null });
    return;
  }
  const reason = findings.filter((finding) => needed.includes(finding.category)).map((finding) => `${finding.category}: ${finding.reason}`).join('; ');
  const request = createRequest(store, { agentId, agentName, tool: toolName, summary, category: needed[0]!, reason, waitSeconds: policy.waitSeconds });
  process.stderr.write(`ringmaster: ${request.id} waits for approval (${reason})\n`);
  for (;;) {
    const current = getRequest(store, request.id);
    if (current.state === 'approved') return;
    if (current.state === 'denied') {
      deny(`ringmaster gate: request ${request.id} (${reason}) was denied by ${current.decidedBy}${current.note ? `: ${current.note}` : ''}. Do not retry it; ask the parent session what to do instead.`);
    }
    if (current.state === 'expired' || Date.now() >= current.expiresAt) {
      expireOverdue(store);
      deny(
        `ringmaster gate: request ${request.id} (${reason}) got no decision within ${policy.waitSeconds} s and was denied. ` +
          `To ask again, tell the parent session what you need and why, then retry once it says a human approved (ringmaster approve <new id>).`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function categoriesOf(findings: Finding[]): string[] {
  return [...new Set(findings.map((finding) => finding.category))];
}

main().then(
  () => {
    proceed();
    process.exit(0);
  },
  (error: unknown) => deny(`ringmaster gate could not decide (${(error as Error)?.message ?? String(error)}), so the call is denied (fail-closed).`),
);
