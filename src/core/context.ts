import { join } from 'node:path';
import { Git } from '../adapters/git.js';
import { Tmux } from '../adapters/tmux.js';
import { loadConfig, type Config } from '../config.js';
import { Store } from '../store/store.js';

/**
 * Everything the core needs from the outside world, handed in as one object so
 * that tests can give it a temp repo, a private tmux socket and a temp database.
 */
export interface Context {
  config: Config;
  store: Store;
  git: Git;
  /** The tmux server new agents go to; existing agents use the socket recorded with them. */
  tmux: Tmux;
  /** The environment children inherit (before per-agent additions). */
  env: Record<string, string | undefined>;
}

export function createContext(env: Record<string, string | undefined> = process.env, config: Config = loadConfig(env)): Context {
  return {
    config,
    store: new Store(join(config.home, 'state.db')),
    git: new Git(),
    tmux: new Tmux(config.tmux.command, config.tmux.socket ?? null),
    env,
  };
}

export function tmuxFor(context: Context, socket: string | null): Tmux {
  return new Tmux(context.config.tmux.command, socket);
}

export function agentDir(context: Context, agentId: string): string {
  return join(context.config.home, 'agents', agentId);
}
