import type { Command } from 'commander';
import { toPublic } from '../core/index.js';
import { UserInputError } from '../errors.js';
import { getRequest } from '../gate/index.js';
import { withContext } from './context.js';
import { EXIT, printJson } from './output.js';
import { examples, type Run } from './program.js';

/** land: merge an agent's approved, green PR after a human approved the landing (see src/forge/land.ts). */
export function registerLandCommands(program: Command, run: Run): void {
  program
    .command('land')
    .description("merge an agent's approved, green pull request through the permission gate, then clean the agent up (what the land tool does)")
    .argument('<agent>', 'the agent whose PR to land')
    .option('--method <method>', "merge, squash or rebase (default: the repository's preferred)")
    .option('--request <id>', 'the permission request an earlier land raised, once approved')
    .option('--wait', 'after asking, wait for a human to approve or deny (ringmaster approve <id> in another terminal), then land')
    .option('--keep', 'keep the worktree and branch after landing')
    .option('--json', 'print the land result as JSON')
    .addHelpText('after', examples('ringmaster land fix-login', 'ringmaster land fix-login --wait --method squash', 'ringmaster land fix-login --request pr_1a2b3c4d5e'))
    .action((agent: string, options: { method?: string; request?: string; wait?: boolean; keep?: boolean; json?: boolean }) =>
      run(() =>
        withContext(async (context) => {
          const { landAgent, MERGE_METHODS } = await import('../forge/index.js');
          if (options.method !== undefined && !(MERGE_METHODS as readonly string[]).includes(options.method)) {
            throw new UserInputError(`--method must be one of ${MERGE_METHODS.join(', ')}.`);
          }
          const input = { name: agent, method: options.method as (typeof MERGE_METHODS)[number] | undefined, requestId: options.request, keepAgent: options.keep };
          let result = await landAgent(context, input);
          if (result.outcome === 'pending_approval' && options.wait && result.request) {
            process.stderr.write(`Waiting for a human: ${result.request.humanCommands[0]}\n`);
            while (getRequest(context.store, result.request.id).state === 'pending' && Date.now() < getRequest(context.store, result.request.id).expiresAt) {
              await new Promise((resolve) => setTimeout(resolve, 1000));
            }
            result = await landAgent(context, { ...input, requestId: result.request.id });
          }
          if (options.json) printJson(toPublic(result));
          else if (result.outcome === 'landed') {
            process.stdout.write(`Landed ${result.agent}: ${result.pr.url} (${result.method}) → ${result.mergedSha}\n`);
            if (result.cleanup) process.stdout.write(result.cleanup.done ? `Cleaned up: ${result.cleanup.removed.join(', ') || 'nothing left'}\n` : `${result.cleanup.error}\n`);
          } else if (result.outcome === 'pending_approval') {
            process.stdout.write(`Landing ${result.pr.url} waits for a human:\n${result.request!.humanCommands.map((command) => `  ${command}`).join('\n')}\nthen: ringmaster land ${agent} --request ${result.request!.id}\n`);
          } else process.stdout.write(`Landing ${result.pr.url} was denied. ${result.notes.join(' ')}\n`);
          return result.outcome === 'landed' ? EXIT.ok : result.outcome === 'pending_approval' ? EXIT.timeout : EXIT.conflict;
        }),
      ),
    );
}
