import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
// zod's v3 API: the config is read by every process, the idle MCP server included, and v3 loads in about 2 MB where v4 takes 11.
import { z } from 'zod/v3';
import { UserInputError } from './errors.js';

/**
 * One config schema for the whole process. Sources, later wins:
 * defaults < `$RINGMASTER_HOME/config.json` < environment variables.
 * Unknown keys in the file are errors so that typos don't silently do nothing.
 */
const agentCommands = z.strictObject({
  claude: z.string().min(1).default('claude'),
  codex: z.string().min(1).default('codex'),
  aider: z.string().min(1).default('aider'),
  opencode: z.string().min(1).default('opencode'),
});

const price = z.strictObject({
  input: z.number().min(0),
  output: z.number().min(0),
  cacheWrite: z.number().min(0),
  cacheRead: z.number().min(0),
});

/**
 * USD per million tokens, matched against the model name by substring, first
 * match wins. Prices change: override them in config.json under "prices".
 */
export const DEFAULT_PRICES: Record<string, z.infer<typeof price>> = {
  opus: { input: 5, output: 25, cacheWrite: 6.25, cacheRead: 0.5 },
  sonnet: { input: 3, output: 15, cacheWrite: 3.75, cacheRead: 0.3 },
  haiku: { input: 1, output: 5, cacheWrite: 1.25, cacheRead: 0.1 },
};

const budgetLimits = z.strictObject({
  usd: z.number().positive().optional(),
  tokens: z.number().int().positive().optional(),
});

export const configSchema = z.strictObject({
  home: z.string().min(1),
  worktreeRoot: z.string().min(1),
  tmux: z
    .strictObject({
      command: z.string().min(1).default('tmux'),
      /** Unset means the user's default tmux server, so `tmux attach -t ringmaster-x` just works. */
      socket: z.string().min(1).optional(),
    })
    .default({ command: 'tmux' }),
  agents: agentCommands.default({ claude: 'claude', codex: 'codex', aider: 'aider', opencode: 'opencode' }),
  claude: z
    .strictObject({
      /** Passed as `--permission-mode` to Claude children when set; the user chooses. */
      permissionMode: z.enum(['default', 'acceptEdits', 'plan', 'auto', 'dontAsk', 'bypassPermissions']).optional(),
    })
    .default({}),
  spawn: z
    .strictObject({
      /** How long spawn watches a new child's screen for start-up dialogs before returning. */
      startupTimeoutMs: z.number().int().min(0).max(600_000).default(20_000),
      setupTimeoutSec: z.number().int().min(1).max(7_200).default(600),
    })
    .default({ startupTimeoutMs: 20_000, setupTimeoutSec: 600 }),
  http: z
    .strictObject({
      port: z.number().int().min(0).max(65_535).default(7411),
    })
    .default({ port: 7411 }),
  store: z
    .strictObject({
      /** How long a write waits for another process's lock on state.db before giving a clear error. */
      busyTimeoutMs: z.number().int().min(0).max(600_000).default(5_000),
    })
    .default({ busyTimeoutMs: 5_000 }),
  prices: z.record(z.string().min(1), price).default(DEFAULT_PRICES),
  egress: z
    .strictObject({
      /**
       * An /etc/hosts-format file the egress gate consults before DNS. Tests use it
       * to send real host names to their own servers without touching /etc/hosts.
       */
      hostsFile: z.string().min(1).optional(),
    })
    .default({}),
  /** Telling a human when an agent needs one (src/notify): never a blocker, rate-limited per agent. */
  notifications: z
    .strictObject({
      /** POSTed a JSON body per notice (Slack-style incoming webhooks get a `text` field too). */
      webhookUrl: z.string().url().optional(),
      /** An ntfy topic URL, e.g. https://ntfy.sh/my-fleet-topic. */
      ntfyUrl: z.string().url().optional(),
      /** notify-send, where present. */
      desktop: z.boolean().default(true),
      /** A message in the status line of the tmux clients on the agents' server, with a bell. */
      tmux: z.boolean().default(true),
      /** At most one notice per agent per this many seconds; a permission request always goes out. */
      minIntervalSec: z.number().int().min(0).max(86_400).default(30),
      /** A working agent with no status change for this long counts as stalled; 0 turns it off. */
      stallAfterSec: z.number().int().min(0).max(86_400).default(900),
    })
    .default({ desktop: true, tmux: true, minIntervalSec: 30, stallAfterSec: 900 }),
  /** Fleet discipline (src/fleet/queue.ts): how many agents may run at once, and the machine's floor for starting one. */
  fleet: z
    .strictObject({
      /** Live agents (spawning or with a running process) on this machine; a spawn past it is queued. 0: no cap. */
      maxLiveAgents: z.number().int().min(0).max(10_000).default(16),
      /** The same per repository. 0: no cap beyond the machine's. */
      maxLiveAgentsPerRepo: z.number().int().min(0).max(10_000).default(0),
      /** A spawn is refused (and a queued one waits) while the machine has less memory available than this. */
      minFreeMemoryMb: z.number().int().min(0).default(256),
      /** The same for free disk space where worktrees are made. */
      minFreeDiskMb: z.number().int().min(0).default(512),
    })
    .default({ maxLiveAgents: 16, maxLiveAgentsPerRepo: 0, minFreeMemoryMb: 256, minFreeDiskMb: 512 }),
  /** `ringmaster gc` (src/fleet/gc.ts): which agents are stale. It removes only those whose work is safe. */
  gc: z
    .strictObject({
      inactiveHours: z.number().positive().default(6),
      maxWorktreesPerRepo: z.number().int().min(0).default(20),
      /** A server runs gc by itself this often; 0: only when asked. */
      everyMinutes: z.number().int().min(0).default(0),
    })
    .default({ inactiveHours: 6, maxWorktreesPerRepo: 20, everyMinutes: 0 }),
  /**
   * Spend limits (src/fleet/budget.ts), in dollars and tokens over a sliding window, read again at
   * every check so that raising one in config.json takes effect without a restart. Unset: no limit.
   */
  budgets: z
    .strictObject({
      windowHours: z.number().positive().max(24 * 366).default(24),
      /** The share of a limit at which the parent and the human hear a warning. */
      warnAt: z.number().gt(0).max(1).default(0.8),
      perAgent: budgetLimits.default({}),
      perRepo: budgetLimits.default({}),
      fleet: budgetLimits.default({}),
    })
    .default({ windowHours: 24, warnAt: 0.8, perAgent: {}, perRepo: {}, fleet: {} }),
  /** compare_attempts (src/fleet/compare.ts): the command that says whether an attempt passes, run in its worktree inside the sandbox. A repo's `.ringmaster.json` `test.command` wins over this one. */
  test: z
    .strictObject({
      command: z.string().min(1).optional(),
      timeoutSec: z.number().int().min(1).max(7_200).default(600),
    })
    .default({ timeoutSec: 600 }),
  /**
   * Remote hosts (src/hosts): agents run there over SSH with the host's own ringmaster.
   * One line adds a host: "hosts": {"box": {"destination": "me@box"}}.
   */
  hosts: z
    .record(
      z.string(),
      z.strictObject({
        /** What `ssh` is given: an alias from ~/.ssh/config or user@host; keys, agent and known_hosts stay the user's. */
        destination: z.string().min(1),
        /** Where worktrees go on the host (its RINGMASTER_WORKTREE_ROOT); default: the host's ~/.ringmaster/worktrees. */
        workRoot: z.string().min(1).optional(),
        /** At most this many live agents on the host. */
        maxAgents: z.number().int().min(0).max(1000).default(8),
        /** The ringmaster command on the host (on the PATH of a non-interactive ssh command). */
        ringmaster: z.string().min(1).default('ringmaster'),
      }),
    )
    .superRefine((hosts, check) => {
      for (const name of Object.keys(hosts)) {
        if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/.test(name)) check.addIssue({ code: 'custom', path: [name], message: 'a host name is 1-40 of A-Z a-z 0-9 - _' });
      }
    })
    .default({}),
  ssh: z
    .strictObject({
      command: z.string().min(1).default('ssh'),
      /** An ssh config file passed as -F; unset means the user's own ~/.ssh/config. */
      configFile: z.string().min(1).optional(),
      connectTimeoutSec: z.number().int().min(1).max(120).default(5),
    })
    .default({ command: 'ssh', connectTimeoutSec: 5 }),
  placement: z
    .strictObject({
      /** Without a host, spawn stays on this machine until it runs this many live agents, then picks the least loaded host. */
      localMaxAgents: z.number().int().min(0).max(1000).default(8),
    })
    .default({ localMaxAgents: 8 }),
});

export type Config = z.infer<typeof configSchema>;

type Env = Record<string, string | undefined>;

function intFromEnv(env: Env, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value)) throw new UserInputError(`${name}=${raw} is not a whole number; unset it or give e.g. ${name}=7411.`);
  return value;
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function loadConfig(env: Env = process.env): Config {
  const home = resolve(env.RINGMASTER_HOME || join(env.HOME || homedir(), '.ringmaster'));
  const file = join(home, 'config.json');
  let fromFile: Record<string, unknown> = {};
  if (existsSync(file)) {
    try {
      fromFile = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (error) {
      throw new UserInputError(`${file} is not valid JSON (${(error as Error).message}); fix or delete it.`);
    }
  }
  const merged = {
    ...fromFile,
    home,
    worktreeRoot: resolve(env.RINGMASTER_WORKTREE_ROOT || (fromFile.worktreeRoot as string | undefined) || join(home, 'worktrees')),
    tmux: { ...(fromFile.tmux as object), ...dropUndefined({ command: env.RINGMASTER_TMUX || undefined, socket: env.RINGMASTER_TMUX_SOCKET || undefined }) },
    agents: {
      ...(fromFile.agents as object),
      ...dropUndefined({
        claude: env.RINGMASTER_CLAUDE || undefined,
        codex: env.RINGMASTER_CODEX || undefined,
        aider: env.RINGMASTER_AIDER || undefined,
        opencode: env.RINGMASTER_OPENCODE || undefined,
      }),
    },
    claude: {
      ...(fromFile.claude as object),
      ...dropUndefined({
        permissionMode: env.RINGMASTER_CHILD_PERMISSION_MODE || undefined,
      }),
    },
    spawn: { ...(fromFile.spawn as object), ...dropUndefined({ startupTimeoutMs: intFromEnv(env, 'RINGMASTER_STARTUP_TIMEOUT_MS') }) },
    http: { ...(fromFile.http as object), ...dropUndefined({ port: intFromEnv(env, 'RINGMASTER_PORT') }) },
    egress: { ...(fromFile.egress as object), ...dropUndefined({ hostsFile: env.RINGMASTER_EGRESS_HOSTS || undefined }) },
    store: { ...(fromFile.store as object), ...dropUndefined({ busyTimeoutMs: intFromEnv(env, 'RINGMASTER_STORE_BUSY_TIMEOUT_MS') }) },
    fleet: {
      ...(fromFile.fleet as object),
      ...dropUndefined({ maxLiveAgents: intFromEnv(env, 'RINGMASTER_MAX_AGENTS'), maxLiveAgentsPerRepo: intFromEnv(env, 'RINGMASTER_MAX_AGENTS_PER_REPO') }),
    },
    ssh: { ...(fromFile.ssh as object), ...dropUndefined({ configFile: env.RINGMASTER_SSH_CONFIG || undefined }) },
    notifications: {
      ...(fromFile.notifications as object),
      ...dropUndefined({ webhookUrl: env.RINGMASTER_WEBHOOK_URL || undefined, ntfyUrl: env.RINGMASTER_NTFY_URL || undefined }),
    },
  };
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
    throw new UserInputError(`Invalid ringmaster configuration (${file} or RINGMASTER_* variables): ${problems}`);
  }
  return parsed.data;
}
