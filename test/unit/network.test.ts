import { describe, expect, it } from 'vitest';
import { decideConnection, hostMatches } from '../../src/gate/network.js';
import { MAX_WAIT_SECONDS, defaultPolicy, policySchema } from '../../src/gate/policy.js';
import { checkExtraArgs, isCredentialVariable, requireSandbox } from '../../src/gate/sandbox.js';
import { childSettings, GATE_HOOK_TIMEOUT_SECONDS } from '../../src/fleet/spawn.js';
import { ExternalToolError, UserInputError } from '../../src/errors.js';

const policy = (extra: Record<string, unknown> = {}) => policySchema.parse(extra);
const decide = (host: string, port: number, extra: Record<string, unknown> = {}, gitHosts = ['github.com']) => decideConnection(host, port, { policy: policy(extra), gitHosts });

describe('the egress policy', () => {
  it.each([
    ['registry.npmjs.org', 443, 'allow'],
    ['pypi.org', 443, 'allow'],
    ['github.com', 443, 'allow'],
    ['github.com', 22, 'allow'],
    ['codeload.github.com', 443, 'allow'],
    ['gitlab.com', 443, 'unknown'],
    ['s3.amazonaws.com', 443, 'gated:aws'],
    ['sts.us-east-1.amazonaws.com', 443, 'gated:aws'],
    ['bedrock.us-west-2.api.aws', 443, 'gated:aws'],
    ['hooks.slack.com', 443, 'gated:slack'],
    ['slack.com', 443, 'gated:slack'],
    ['notslack.com', 443, 'unknown'],
    ['registry.terraform.io', 443, 'gated:terraform'],
    ['db.internal.example', 5432, 'gated:database'],
    ['10.0.0.5', 3306, 'gated:database'],
    ['127.0.0.1', 5432, 'unknown'],
    ['localhost', 8080, 'unknown'],
    ['169.254.169.254', 80, 'unknown'],
    ['registry.npmjs.org', 5432, 'gated:database'],
    ['example.com', 443, 'unknown'],
  ])('%s:%i is %s by default', (host, port, expected) => {
    const verdict = decide(host, port);
    const got = verdict.kind === 'gated' ? `gated:${verdict.category}` : verdict.kind;
    expect(got).toBe(expected);
  });

  it('lets the user allow a local database and add categories of their own', () => {
    expect(decide('127.0.0.1', 5432, { network: { allow: ['127.0.0.1:5432'] } }).kind).toBe('allow');
    expect(decide('127.0.0.1', 5433, { network: { allow: ['127.0.0.1:5432'] } }).kind).toBe('unknown');
    expect(decide('api.stripe.com', 443, { network: { gated: { payments: ['api.stripe.com'] } } })).toMatchObject({ kind: 'gated', category: 'payments' });
    expect(decide('example.com', 443, { network: { unknown: 'deny' } })).toEqual({ kind: 'unknown', action: 'deny' });
    // A category's own host list replaces its defaults.
    expect(decide('s3.amazonaws.com', 443, { categories: { aws: { hosts: ['*.internal-aws.example'] } } }).kind).toBe('unknown');
  });

  it('matches host patterns exactly: names, subdomains, ports, IPv6', () => {
    expect(hostMatches('*.slack.com', 'hooks.slack.com', 443)).toBe(true);
    expect(hostMatches('*.slack.com', 'slack.com', 443)).toBe(false);
    expect(hostMatches('*.slack.com', 'evilslack.com', 443)).toBe(false);
    expect(hostMatches('*:5432', 'anything', 5432)).toBe(true);
    expect(hostMatches('db:5432', 'db', 5433)).toBe(false);
    expect(hostMatches('[::1]:8080', '::1', 8080)).toBe(true);
  });

  it('refuses bad host patterns with the path of the mistake', () => {
    expect(() => policySchema.parse({ network: { allow: ['http://x.com/'] } })).toThrow(/host pattern/);
  });
});

describe('the hook gate cannot be timed out into letting a call through', () => {
  it('caps the approval wait below the hook timeout written at spawn', () => {
    expect(() => policySchema.parse({ waitSeconds: MAX_WAIT_SECONDS + 1 })).toThrow();
    expect(GATE_HOOK_TIMEOUT_SECONDS).toBeGreaterThan(MAX_WAIT_SECONDS);
    const settings = childSettings('/spool', '/worktrees') as { disableAllHooks: boolean; hooks: { PreToolUse: Array<{ hooks: Array<{ command: string; timeout: number }> }> } };
    const gate = settings.hooks.PreToolUse[0]!.hooks.find((hook) => hook.command.includes('gate.sh'))!;
    expect(gate.timeout).toBe(GATE_HOOK_TIMEOUT_SECONDS);
    // A repository's "disableAllHooks": true does not switch these hooks off while this says false (FACTS.md).
    expect(settings.disableAllHooks).toBe(false);
    expect(defaultPolicy().sandbox.enabled).toBe(true);
  });
});

describe('arguments and variables that would switch the gate off', () => {
  it.each([
    [['--settings', '{"disableAllHooks":true}']],
    [['--settings={"sandbox":{"enabled":false}}']],
    [['--setting-sources', 'user']],
    [['--dangerously-skip-permissions']],
    [['--permission-mode', 'bypassPermissions']],
    [['--permission-mode=bypassPermissions']],
    [['--mcp-config', 'x.json']],
    [['--strict-mcp-config']],
    [['--add-dir', '/']],
    [['--plugin-dir', 'p']],
  ])('refuses %j', (args) => {
    expect(() => checkExtraArgs('claude', args)).toThrow(UserInputError);
  });

  it('lets ordinary arguments through', () => {
    expect(() => checkExtraArgs('claude', ['--permission-mode', 'acceptEdits', '--model', 'sonnet', '--allowedTools', 'Bash'])).not.toThrow();
  });

  it('keeps credentials out of children', () => {
    for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_PROFILE', 'GITHUB_TOKEN', 'GH_TOKEN', 'SLACK_BOT_TOKEN', 'SSH_AUTH_SOCK', 'LINEAR_API_KEY', 'RINGMASTER_TOKEN', 'PGPASSWORD']) expect(isCredentialVariable(name)).toBe(true);
    for (const name of ['PATH', 'HOME', 'ANTHROPIC_BASE_URL', 'LANG', 'NODE_ENV']) expect(isCredentialVariable(name)).toBe(false);
  });

  it('says what to install when the sandbox tools are missing', () => {
    expect(() => requireSandbox({ PATH: '/nonexistent' })).toThrow(ExternalToolError);
    expect(() => requireSandbox({ PATH: '/nonexistent' })).toThrow(/apt-get install -y bubblewrap socat ripgrep/);
  });
});
