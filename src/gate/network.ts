import { isIP } from 'node:net';
import { CATEGORIES, DEFAULT_CATEGORY_HOSTS, type Policy } from './policy.js';

/**
 * What the egress gate does with one connection of one agent, decided from
 * the policy alone (grants and standing rules are looked up by the caller).
 * Pure, so that the whole table is unit-tested.
 */
export type NetworkVerdict =
  | { kind: 'allow'; rule: string }
  | { kind: 'gated'; category: string; rule: string }
  | { kind: 'unknown'; action: 'ask' | 'deny' };

/** Reached by every agent without asking: package registries and the model APIs that wrapped agent CLIs call. */
export const DEFAULT_ALLOWED_HOSTS = [
  'registry.npmjs.org',
  'registry.yarnpkg.com',
  'pypi.org',
  'files.pythonhosted.org',
  'crates.io',
  'index.crates.io',
  'static.crates.io',
  'proxy.golang.org',
  'sum.golang.org',
  'rubygems.org',
  'repo.maven.apache.org',
  'repo1.maven.org',
  'api.anthropic.com',
  'api.openai.com',
];

/** Extra names that belong with a git host, for fetching and downloading (never pushing: children hold no credentials). */
const GIT_HOST_COMPANIONS: Record<string, string[]> = {
  'github.com': ['codeload.github.com', '*.githubusercontent.com'],
  'gitlab.com': ['registry.gitlab.com'],
  'bitbucket.org': ['bbuseruploads.s3.amazonaws.com'],
};

export interface NetworkContext {
  policy: Policy;
  /** Hosts of the agent's repository remotes (e.g. github.com). */
  gitHosts: string[];
}

/** True when `pattern` (see the policy's host patterns) covers host:port. */
export function hostMatches(pattern: string, host: string, port: number): boolean {
  const parsed = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(pattern.toLowerCase());
  if (!parsed) return false;
  if (parsed[2] !== undefined && Number(parsed[2]) !== port) return false;
  const name = parsed[1]!.replace(/^\[|\]$/g, '');
  if (name === '*') return true;
  if (name.startsWith('*.')) return host.endsWith(name.slice(1));
  return host === name;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host.endsWith('.localhost') || /^127\./.test(host) || host === '::1' || host === '0:0:0:0:0:0:0:1' || host === '0.0.0.0';
}

/** Every gated category with its hosts: built-in ones (policy override or defaults) and the user's own. */
export function gatedHosts(policy: Policy): Array<{ category: string; hosts: string[] }> {
  return [
    ...CATEGORIES.map((category) => ({ category, hosts: policy.categories[category].hosts ?? DEFAULT_CATEGORY_HOSTS[category] })),
    ...Object.entries(policy.network.gated).map(([category, hosts]) => ({ category, hosts })),
  ];
}

export function decideConnection(host: string, port: number, context: NetworkContext): NetworkVerdict {
  const { policy } = context;
  const user = policy.network.allow.find((pattern) => hostMatches(pattern, host, port));
  if (user) return { kind: 'allow', rule: `network.allow "${user}"` };
  for (const { category, hosts } of gatedHosts(policy)) {
    const rule = hosts.find((pattern) => hostMatches(pattern, host, port));
    // Loopback is never a remote database: a local one is listed in network.allow, or it is unknown.
    if (rule && !(rule.startsWith('*:') && isLoopback(host))) return { kind: 'gated', category, rule: `${category} "${rule}"` };
  }
  if (isLoopback(host) || isIP(host)) return { kind: 'unknown', action: policy.network.unknown };
  const builtIn = DEFAULT_ALLOWED_HOSTS.find((pattern) => hostMatches(pattern, host, port));
  if (builtIn && (port === 443 || port === 80)) return { kind: 'allow', rule: `package registry or model API "${builtIn}"` };
  for (const gitHost of context.gitHosts) {
    const names = [gitHost, ...(GIT_HOST_COMPANIONS[gitHost] ?? [])];
    const match = names.find((pattern) => hostMatches(pattern, host, port));
    if (match && (port === 443 || port === 80 || port === 22)) return { kind: 'allow', rule: `the repository's git host "${match}"` };
  }
  return { kind: 'unknown', action: policy.network.unknown };
}
