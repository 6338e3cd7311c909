import { statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { classifyToolCall, type Finding } from './classify.js';
import { defaultPolicy, loadPolicy, type Policy } from './policy.js';

/**
 * One PreToolUse payload classified exactly as the gate hook sees it: the
 * home and worktrees from the hook's environment, the policy from the home
 * (or, when it cannot be read, the defaults and the error, so that whatever
 * they gate is denied), the cwd from the payload or the hook's own. Used by
 * the hook's slow path (hooks/gate.ts) and by the classifier service below,
 * so that the two cannot decide differently.
 */
export interface HookCall {
  home: string;
  toolName: string;
  toolInput: Record<string, unknown>;
  policy: Policy;
  policyError?: string;
  findings: Finding[];
}

export function classifyHookCall(payload: { tool_name?: unknown; tool_input?: unknown; cwd?: unknown }, env: Record<string, string | undefined>, hookCwd: string): HookCall | { error: string } {
  const home = env.RINGMASTER_HOME;
  if (!home) return { error: 'RINGMASTER_HOME is not set, so no decision can be made' };
  const toolName = typeof payload.tool_name === 'string' ? payload.tool_name : '';
  const toolInput = payload.tool_input && typeof payload.tool_input === 'object' ? (payload.tool_input as Record<string, unknown>) : {};
  let policy: Policy;
  let policyError: string | undefined;
  try {
    policy = loadPolicy(home);
  } catch (error) {
    policy = defaultPolicy();
    policyError = (error as Error).message;
  }
  const worktreeRoot = env.RINGMASTER_WORKTREE_ROOT || join(home, 'worktrees');
  const cwd = (typeof payload.cwd === 'string' && payload.cwd) || hookCwd;
  const findings = classifyToolCall(toolName, toolInput, { policy, ringmasterHome: home, worktreeRoot, cwd, env });
  return { home, toolName, toolInput, policy, policyError, findings };
}

/**
 * The classifier as a service, for the compiled gate hook (src/hooks/gate-fast.c):
 * a call its fast path cannot decide is sent here, to the egress gate's
 * long-lived process, instead of starting Node for it (about 300 ms). The
 * answer is "allow" only when the classification finds nothing to gate, for
 * this home, by the code on disk now; everything else is "check" and the hook
 * starts gate.js, which asks a human or denies. Nothing here grants, records
 * or waits: the worst a wrong request can get is a "check".
 */
export type ServiceAnswer = { decision: 'allow' } | { decision: 'check'; why: string };

// The classifier's own files (and its shell parser's entry) as they were when this process loaded
// them: after an upgrade a running process has older code than gate.js, and must not decide.
const CODE_FILES = [...['classify.js', 'policy.js', 'hook-call.js'].map((name) => join(dirname(fileURLToPath(import.meta.url)), name)), parserEntry()];
function parserEntry(): string {
  try {
    return fileURLToPath(import.meta.resolve('unbash'));
  } catch {
    return '-';
  }
}
const codeStamp = (): string => CODE_FILES.map((file) => {
  try {
    const stat = statSync(file);
    return `${stat.mtimeMs}:${stat.size}`;
  } catch {
    return '-';
  }
}).join(',');
const loadedStamp = codeStamp();

export function classifyForService(serviceHome: string, body: unknown): ServiceAnswer {
  const check = (why: string): ServiceAnswer => ({ decision: 'check', why });
  if (!body || typeof body !== 'object') return check('the request is not a JSON object');
  const { payload, cwd, env } = body as { payload?: unknown; cwd?: unknown; env?: unknown };
  if (!payload || typeof payload !== 'object') return check('no payload');
  if (typeof cwd !== 'string' || !cwd.startsWith('/')) return check('no absolute cwd');
  if (!env || typeof env !== 'object' || Object.values(env).some((value) => typeof value !== 'string')) return check('no environment');
  const hookEnv = env as Record<string, string>;
  if (!hookEnv.RINGMASTER_HOME || resolve(hookEnv.RINGMASTER_HOME) !== resolve(serviceHome)) return check('the hook belongs to another ringmaster home');
  if (codeStamp() !== loadedStamp) return check('the classifier on disk changed since this process started');
  const call = classifyHookCall(payload as Record<string, unknown>, hookEnv, cwd);
  if ('error' in call) return check(call.error);
  if (call.policyError) return check(call.policyError);
  return call.findings.length === 0 ? { decision: 'allow' } : check('the call has something to gate');
}
