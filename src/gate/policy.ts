import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { UserInputError } from '../errors.js';

export const CATEGORIES = ['aws', 'slack', 'protected_push', 'terraform', 'database'] as const;
export type Category = (typeof CATEGORIES)[number];

const categorySchema = z.strictObject({
  /** Who may approve: a human always can; the parent model only where the user allows it. */
  approver: z.enum(['human', 'parent']).default('human'),
  /** Extra command names that fall into this category, e.g. an in-house deploy wrapper. */
  commands: z.array(z.string().min(1)).default([]),
});

export const policySchema = z.strictObject({
  /** How long a gated call is held while it waits for a decision. */
  waitSeconds: z.number().int().min(1).max(86_400).default(600),
  /** Branch patterns no agent pushes to without approval (`*` matches within a path segment). */
  protectedBranches: z.array(z.string().min(1)).default(['main', 'master', 'release/*']),
  categories: z
    .strictObject({
      aws: categorySchema.default({ approver: 'human', commands: [] }),
      slack: categorySchema.default({ approver: 'human', commands: [] }),
      protected_push: categorySchema.default({ approver: 'human', commands: [] }),
      terraform: categorySchema.default({ approver: 'human', commands: [] }),
      database: categorySchema.default({ approver: 'human', commands: [] }),
    })
    .default({
      aws: { approver: 'human', commands: [] },
      slack: { approver: 'human', commands: [] },
      protected_push: { approver: 'human', commands: [] },
      terraform: { approver: 'human', commands: [] },
      database: { approver: 'human', commands: [] },
    }),
});

export type Policy = z.infer<typeof policySchema>;

export function defaultPolicy(): Policy {
  return policySchema.parse({});
}

/** The policy in force: defaults, overridden by `$RINGMASTER_HOME/policy.json`. A broken file is an error, never a silent default. */
export function loadPolicy(ringmasterHome: string): Policy {
  const file = join(ringmasterHome, 'policy.json');
  if (!existsSync(file)) return defaultPolicy();
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UserInputError(`${file} is not valid JSON (${(error as Error).message}). Fix it; until then every gated call is denied.`);
  }
  const parsed = policySchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
    throw new UserInputError(`${file} is invalid: ${problems}. Fix it; until then every gated call is denied.`);
  }
  return parsed.data;
}
