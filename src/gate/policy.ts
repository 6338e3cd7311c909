import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
// zod's v3 API, as in src/config.ts: the policy is read by the idle MCP server and by every gate hook process.
import { z } from 'zod/v3';
import { UserInputError } from '../errors.js';

/** The longest approval wait a policy may set; the gate hook's timeout is this plus a margin. */
export const MAX_WAIT_SECONDS = 3600;

export const CATEGORIES = ['aws', 'slack', 'protected_push', 'terraform', 'database'] as const;
export type Category = (typeof CATEGORIES)[number];

/** Whether a branch is protected by the policy's patterns (`*` within a segment, `**` across). */
export function isProtectedBranch(patterns: string[], branch: string): boolean {
  return patterns.some((pattern) => globToRegex(pattern).test(branch));
}

function globToRegex(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*/g, '\u0000').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]').replace(/\u0000/g, '.*');
  return new RegExp(`^${escaped}$`);
}

/**
 * A host pattern for the egress gate: `example.com` (that name), `*.example.com`
 * (any name under it, not the name itself), either with `:port`, or `*:5432`
 * (any host on that port). IP literals are written as they are (`10.0.0.5:5432`).
 */
const hostPattern = z
  .string()
  .min(1)
  .regex(/^(\*|\*\.[a-z0-9.-]+|[a-z0-9.-]+|\[[0-9a-f:.]+\])(:\d{1,5})?$/i, 'a host pattern: name, *.domain or *, with an optional :port');

/** Hosts each built-in category gates by default: a connection to one is held for a human's yes. */
export const DEFAULT_CATEGORY_HOSTS: Record<Category, string[]> = {
  aws: ['amazonaws.com', '*.amazonaws.com', '*.amazonaws.com.cn', '*.api.aws', '*.awsapps.com', 'signin.aws.amazon.com', 'console.aws.amazon.com'],
  slack: ['slack.com', '*.slack.com'],
  protected_push: [],
  terraform: ['registry.terraform.io', 'app.terraform.io', 'releases.hashicorp.com', 'checkpoint-api.hashicorp.com'],
  // Database ports on any host; a loopback or test database is allowed through network.allow.
  database: ['*:5432', '*:3306', '*:33060', '*:27017', '*:6379', '*:1433', '*:1521', '*:9042', '*:5439', '*:26257', '*:8123', '*:9000'],
};

const categorySchema = z.strictObject({
  /** Who may approve: a human always can; the parent model only where the user allows it. */
  approver: z.enum(['human', 'parent']).default('human'),
  /** Extra command names that fall into this category, e.g. an in-house deploy wrapper. */
  commands: z.array(z.string().min(1)).default([]),
  /** Hosts whose connections this category gates (replaces the defaults when given). */
  hosts: z.array(hostPattern).optional(),
});

const networkSchema = z.strictObject({
  /** Hosts every agent may reach without asking, besides the built-in ones (package registries, model APIs, the repository's git host). Loopback services must be listed here, with their port. */
  allow: z.array(hostPattern).default([]),
  /** Your own gated categories: a name and the hosts it covers, e.g. {"payments": ["api.stripe.com"]}. */
  gated: z.record(z.string().regex(/^[a-z][a-z0-9_]{0,39}$/, 'a lower-case category name'), z.array(hostPattern)).default({}),
  /** A host nobody listed: held for a human ("ask", the default) or refused outright ("deny"). */
  unknown: z.enum(['ask', 'deny']).default('ask'),
});

export const policySchema = z.strictObject({
  /**
   * Every child runs in an OS sandbox whose network leaves only through
   * ringmaster's egress gate. Switching it off leaves only the hook gate, and
   * every status, list and audit line then says the agent is unenforced.
   */
  sandbox: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Folders every child may write besides its worktree, e.g. a shared build cache ("~/.cache/pnpm"). */
      allowWrite: z.array(z.string().min(1)).default([]),
    })
    .default({ enabled: true, allowWrite: [] }),
  network: networkSchema.default({ allow: [], gated: {}, unknown: 'ask' }),
  /**
   * How long a gated call is held while it waits for a decision. Capped so
   * that the hook timeout written at spawn always outlasts it: a hook that
   * Claude times out lets the call through.
   */
  waitSeconds: z.number().int().min(1).max(MAX_WAIT_SECONDS).default(600),
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
