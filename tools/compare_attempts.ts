import { z } from 'zod';
import { compareAttempts, validateTestTimeout } from '../src/fleet/index.js';
import { toPublic } from '../src/core/index.js';
import { defineTool } from '../src/server/tool.js';

const fileChange = z.object({ path: z.string(), insertions: z.number(), deletions: z.number() });

export const compareAttemptsTool = defineTool({
  name: 'compare_attempts',
  title: 'Compare attempts',
  description:
    'Side by side, for a group spawned with spawn_agent attempts: each attempt\'s status, commits and diff against the shared base (files, lines), uncommitted files, ' +
    'whether the test command passes in its worktree (run inside the same sandbox the children use, with a timeout, tail of output kept), cost and time so far, ' +
    'and the diff between every pair of attempts. The numbers come from running git and the tests, not from what the agents said. The test command is test_command, else "test.command" in the repo\'s .ringmaster.json, else in ringmaster\'s config.',
  inputSchema: z.object({
    group: z.string().describe('The group id or name spawn_agent returned, or the name of one attempt.'),
    test_command: z.string().optional().describe('Shell command run in each worktree, e.g. "npm test"; exit 0 passes.'),
    run_tests: z.boolean().optional().describe('false skips the tests. Default true.'),
    test_timeout_sec: z.number().int().min(1).max(7200).optional().describe('Per attempt; default test.timeoutSec in the config (600).'),
  }),
  outputSchema: z.object({
    group: z.string(),
    name: z.string(),
    repo: z.string(),
    base: z.string(),
    base_commit: z.string(),
    picked: z.string().nullable(),
    test_command: z.string().nullable(),
    attempts: z.array(
      z.object({
        attempt: z.number(),
        name: z.string(),
        agent: z.string(),
        model: z.string().nullable(),
        branch: z.string(),
        head: z.string().nullable(),
        status: z.object({ state: z.string(), reason: z.string(), exit_status: z.number().nullable() }),
        commits: z.number(),
        diff: z.object({ files: z.number(), insertions: z.number(), deletions: z.number(), changes: z.array(fileChange) }),
        uncommitted_files: z.array(z.string()),
        tests: z
          .object({ command: z.string(), passed: z.boolean(), exit_code: z.number().nullable(), timed_out: z.boolean(), duration_ms: z.number(), output_tail: z.string(), sandboxed: z.boolean() })
          .nullable(),
        cost_usd: z.number().nullable(),
        elapsed_seconds: z.number(),
      }),
    ),
    pairs: z.array(z.object({ a: z.string(), b: z.string(), identical: z.boolean(), files: z.array(fileChange), insertions: z.number(), deletions: z.number() })),
    notes: z.array(z.string()),
  }),
  summary: (result) =>
    `${result.name}: ` +
    result.attempts
      .map(
        (attempt) =>
          `${attempt.name} ${attempt.status.state}, ${attempt.commits} commit(s), ${attempt.diff.files} file(s) +${attempt.diff.insertions}/-${attempt.diff.deletions}` +
          (attempt.tests ? `, tests ${attempt.tests.timed_out ? 'timed out' : attempt.tests.passed ? 'pass' : `fail (exit ${attempt.tests.exit_code})`}` : '') +
          (attempt.cost_usd !== null ? `, $${attempt.cost_usd.toFixed(2)}` : ''),
      )
      .join('; ') +
    '.',
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handle(context, args, { progress }) {
    validateTestTimeout(args.test_timeout_sec);
    const comparison = await compareAttempts(context, { group: args.group, testCommand: args.test_command, runTests: args.run_tests, testTimeoutSec: args.test_timeout_sec }, progress);
    return toPublic(comparison);
  },
});
