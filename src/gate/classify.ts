import { execFileSync } from 'node:child_process';
import { homedir } from 'node:os';
import { basename, isAbsolute, relative, resolve } from 'node:path';
import { forEachChild, parse, type Command, type SyntaxNode, type Word, type WordPart } from 'unbash';
import type { Category, Policy } from './policy.js';

/**
 * Decides whether a child's tool call needs a human's yes. Bash is read with
 * a real shell parser (unbash), so pipelines, lists, subshells, `$(…)`,
 * `bash -c '…'`, `env X=1 cmd`, `sudo`, `xargs` and quoting are seen as the
 * shell sees them. Anything the gate cannot read with confidence is gated.
 */

export type FindingCategory = Category | 'self_approval' | 'obfuscated';

export interface Finding {
  category: FindingCategory;
  reason: string;
}

export interface ClassifyContext {
  policy: Policy;
  ringmasterHome: string;
  /** Agents' worktrees, which may sit inside ringmasterHome: their own work, not ringmaster's state. */
  worktreeRoot: string;
  cwd: string;
  /** The child's environment, as the hook process inherits it. */
  env: Record<string, string | undefined>;
  /** The current branch of a work tree, or undefined; injectable for tests. */
  currentBranch?: (cwd: string) => string | undefined;
  /** Extra protected branch patterns configured in a repo; injectable for tests. */
  repoProtectedBranches?: (cwd: string) => string[];
}

const MAX_DEPTH = 6;
const SLACK_URL = /(^|[^a-z0-9.-])(hooks\.slack\.com|([a-z0-9-]+\.)?slack\.com\/api)/i;
const AWS_CREDENTIAL_VARS = new Set(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_WEB_IDENTITY_TOKEN_FILE']);
const DATABASE_URL_VARS = ['DATABASE_URL', 'DB_URL', 'POSTGRES_URL', 'MYSQL_URL', 'MONGODB_URI', 'MONGO_URL', 'REDIS_URL'];
const DB_CLIENTS = new Set(['psql', 'pgcli', 'mysql', 'mariadb', 'mycli', 'mongosh', 'mongo', 'redis-cli']);
const DB_HOST_ENV: Record<string, string> = { psql: 'PGHOST', pgcli: 'PGHOST', mysql: 'MYSQL_HOST', mariadb: 'MYSQL_HOST', mycli: 'MYSQL_HOST' };
const READ_ONLY = new Set(['cat', 'ls', 'head', 'tail', 'less', 'more', 'grep', 'rg', 'find', 'stat', 'wc', 'file', 'jq', 'du', 'realpath', 'readlink', 'echo', 'printf', 'test', '[']);
const SHELLS = new Set(['bash', 'sh', 'zsh', 'dash', 'ksh']);
// Parts whose text is not what runs: expansions, and brace expansion ({a,}ws is "aws ws").
const DYNAMIC_PARTS = new Set(['SimpleExpansion', 'ParameterExpansion', 'CommandExpansion', 'ArithmeticExpansion', 'ProcessSubstitution', 'BraceExpansion']);
// A glob in the command name runs whatever file matches (/usr/bin/a?s is aws).
const PATTERN_PARTS = new Set(['Glob', 'ExtendedGlob']);

interface Arg {
  value: string;
  dynamic: boolean;
  /** Contains a glob pattern that the shell replaces with matching file names. */
  pattern: boolean;
  text: string;
}

export function classifyToolCall(toolName: string, toolInput: Record<string, unknown>, context: ClassifyContext): Finding[] {
  if (toolName === 'Bash') return typeof toolInput.command === 'string' ? classifyCommand(toolInput.command, context) : [{ category: 'obfuscated', reason: 'Bash call without a command string' }];
  const findings: Finding[] = [];
  if (/^mcp__ringmaster__(request_permission|list_permission_requests)$/.test(toolName)) {
    findings.push({ category: 'self_approval', reason: 'a child may not take part in approving gated actions' });
  }
  if (/^mcp__.*slack/i.test(toolName) || (context.policy.categories.slack.commands.includes(toolName))) findings.push({ category: 'slack', reason: `MCP tool ${toolName}` });
  for (const value of Object.values(toolInput)) {
    if (typeof value === 'string' && SLACK_URL.test(value)) findings.push({ category: 'slack', reason: `${toolName} to a Slack URL` });
  }
  for (const key of ['file_path', 'notebook_path', 'path']) {
    const path = toolInput[key];
    if (typeof path === 'string' && ['Write', 'Edit', 'MultiEdit', 'NotebookEdit'].includes(toolName) && isRingmasterState(resolvePath(path, context), context)) {
      findings.push({ category: 'self_approval', reason: `${toolName} into ringmaster's own folder ${context.ringmasterHome}` });
    }
  }
  return dedupe(findings);
}

export function classifyCommand(command: string, context: ClassifyContext, depth = 0): Finding[] {
  if (depth > MAX_DEPTH) return [{ category: 'obfuscated', reason: 'shell commands nested too deeply to read' }];
  const script = parse(command);
  if (script.errors?.length) return [{ category: 'obfuscated', reason: `the command could not be parsed (${script.errors[0]!.message})` }];
  const findings: Finding[] = [];
  const visit = (node: SyntaxNode) => {
    if (node.type === 'Command') findings.push(...classifySimpleCommand(node, context, depth));
    if (node.type === 'Redirect' && node.target) {
      const target = argOf(node.target);
      if (!target.dynamic && isRingmasterState(resolvePath(target.value, context), context) && node.operator.includes('>')) {
        findings.push({ category: 'self_approval', reason: `writes into ringmaster's own folder (${target.value})` });
      }
    }
    forEachChild(node, visit);
  };
  visit(script);
  return dedupe(findings);
}

function classifySimpleCommand(command: Command, context: ClassifyContext, depth: number): Finding[] {
  const findings: Finding[] = [];
  const env = new Map<string, string>();
  for (const item of command.prefix) {
    if (item.type !== 'Assignment' || item.value.type !== 'Word') continue;
    const value = argOf(item.value);
    // A value built at run time is resolved from the child's environment where possible; otherwise its text stays, `$` and all.
    env.set(item.name, value.dynamic ? expandFromEnv(value.text, env, context, true) : value.value);
  }
  let argv: Arg[] = [...(command.name ? [argOf(command.name)] : []), ...command.suffix.filter((item): item is Word => item.type === 'Word').map(argOf)];
  argv = unwrap(argv, env);
  for (const name of env.keys()) if (AWS_CREDENTIAL_VARS.has(name)) findings.push({ category: 'aws', reason: `runs with AWS credentials in its environment (${name})` });
  for (const arg of argv) if (SLACK_URL.test(arg.value) || SLACK_URL.test(expandFromEnv(arg.text, env, context))) findings.push({ category: 'slack', reason: `sends to a Slack URL` });
  if (argv.length === 0) return findings;

  const head = argv[0]!;
  if (head.dynamic || head.pattern) {
    findings.push({ category: 'obfuscated', reason: `the command name is computed at run time (${head.text})` });
    return findings;
  }
  const name = basename(head.value);
  const args = argv.slice(1);
  const values = args.map((arg) => arg.value);
  const extra = (category: Category) => context.policy.categories[category].commands.includes(name);

  // Nested scripts: bash -c '…', eval …
  if (SHELLS.has(name)) {
    const flag = args.findIndex((arg) => /^-[a-z]*c[a-z]*$/.test(arg.value));
    if (flag >= 0) {
      const script = args[flag + 1];
      if (!script) return findings;
      if (script.dynamic) findings.push({ category: 'obfuscated', reason: `${name} -c runs a script computed at run time` });
      else findings.push(...classifyCommand(script.value, context, depth + 1));
      return findings;
    }
  }
  if (name === 'eval') {
    if (args.some((arg) => arg.dynamic)) findings.push({ category: 'obfuscated', reason: 'eval of text computed at run time' });
    else findings.push(...classifyCommand(values.join(' '), context, depth + 1));
    return findings;
  }

  if (name === 'ringmaster' && values.some((value) => ['approve', 'deny', 'grant'].includes(value))) {
    findings.push({ category: 'self_approval', reason: 'a child may not run ringmaster approve or deny' });
  }
  if (values.some((value) => /cli\.js$/.test(value)) && values.some((value) => ['approve', 'deny'].includes(value)) && values.some((value) => /ringmaster/.test(value))) {
    findings.push({ category: 'self_approval', reason: 'a child may not run ringmaster approve or deny' });
  }
  if (!READ_ONLY.has(name)) {
    for (const arg of args) {
      if (!arg.dynamic && arg.value && isRingmasterState(resolvePath(arg.value.replace(/^--?[\w-]+=/, ''), context), context)) {
        findings.push({ category: 'self_approval', reason: `${name} touches ringmaster's own folder (${arg.value})` });
        break;
      }
    }
  }

  // AWS
  if (['aws', 'sam', 'eksctl', 'aws-vault', 'copilot'].includes(name) || extra('aws')) findings.push({ category: 'aws', reason: `${name} ${values.slice(0, 2).join(' ')}`.trim() });
  if (name === 'cdk' && values.some((value) => ['deploy', 'destroy', 'bootstrap'].includes(value))) findings.push({ category: 'aws', reason: `cdk ${values.find((value) => ['deploy', 'destroy', 'bootstrap'].includes(value))}` });
  if (/^python[\d.]*$/.test(name) && values[0] === '-m' && values[1] === 'awscli') findings.push({ category: 'aws', reason: 'python -m awscli' });

  // Slack
  if (name === 'slack' || extra('slack')) findings.push({ category: 'slack', reason: `${name} CLI` });

  // Terraform
  if (['terraform', 'tofu', 'terragrunt'].includes(name) || extra('terraform')) {
    const words = values.filter((value) => !value.startsWith('-'));
    const sub = words[0];
    if (sub && ['apply', 'destroy', 'import'].includes(sub)) findings.push({ category: 'terraform', reason: `${name} ${sub}` });
    else if (sub === 'state' && words[1] && ['rm', 'mv', 'push', 'replace-provider'].includes(words[1])) findings.push({ category: 'terraform', reason: `${name} state ${words[1]}` });
    else if (name === 'terragrunt' && words.some((word) => ['apply', 'destroy', 'import'].includes(word))) findings.push({ category: 'terraform', reason: `terragrunt ${words.join(' ')}` });
    else if (args.some((arg) => arg.dynamic) && !sub) findings.push({ category: 'terraform', reason: `${name} with a subcommand computed at run time` });
  }

  // Protected pushes
  if (name === 'git') findings.push(...classifyGit(args, context));
  if (name === 'gh' && values[0] === 'pr' && values[1] === 'merge') findings.push({ category: 'protected_push', reason: 'gh pr merge' });
  if (extra('protected_push')) findings.push({ category: 'protected_push', reason: name });

  // Databases
  if (DB_CLIENTS.has(name) || extra('database')) {
    const target = databaseTarget(name, args, env, context);
    if (target) findings.push({ category: 'database', reason: `${name} to ${target}` });
  } else {
    const migration = migrationTarget(name, args, env, context);
    if (migration) findings.push({ category: 'database', reason: `${name} migration against ${migration}` });
  }
  return findings;
}

/** Peels off commands that run another command: sudo, env, nice, timeout, xargs, npx … */
function unwrap(argv: Arg[], env: Map<string, string>): Arg[] {
  for (let guard = 0; guard < 10 && argv.length > 0 && !argv[0]!.dynamic; guard++) {
    const name = basename(argv[0]!.value);
    let rest = argv.slice(1);
    const skipOptions = (withValue: string[]) => {
      while (rest.length && rest[0]!.value.startsWith('-') && rest[0]!.value !== '--') {
        const option = rest[0]!.value;
        rest = rest.slice(1);
        if (withValue.includes(option) && rest.length) rest = rest.slice(1);
      }
      if (rest[0]?.value === '--') rest = rest.slice(1);
    };
    switch (name) {
      case 'sudo':
      case 'doas':
        skipOptions(['-u', '-g', '-p', '-C', '-h', '-U', '-r', '-t']);
        break;
      case 'env':
        skipOptions(['-u', '-C', '--unset', '--chdir']);
        while (rest.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(rest[0]!.value)) {
          const [key, ...value] = rest[0]!.value.split('=');
          env.set(key!, value.join('='));
          rest = rest.slice(1);
        }
        break;
      case 'nice':
      case 'ionice':
      case 'stdbuf':
        skipOptions(['-n', '-c', '-i', '-p', '-o', '-e']);
        break;
      case 'nohup':
      case 'time':
      case 'command':
      case 'builtin':
      case 'exec':
        skipOptions(['-a']);
        break;
      case 'timeout':
        skipOptions(['-s', '-k', '--signal', '--kill-after']);
        rest = rest.slice(1); // the duration
        break;
      case 'xargs':
        skipOptions(['-I', '-i', '-n', '-P', '-d', '-E', '-L', '-s', '-a', '--max-args', '--max-procs', '--delimiter', '--arg-file']);
        break;
      case 'npx':
      case 'bunx':
      case 'pnpx':
        skipOptions(['-p', '--package', '-c']);
        break;
      case 'pnpm':
      case 'yarn':
      case 'npm':
        if (['exec', 'dlx', 'x'].includes(rest[0]?.value ?? '')) {
          rest = rest.slice(1);
          skipOptions([]);
          break;
        }
        return argv;
      default:
        return argv;
    }
    argv = rest;
  }
  return argv;
}

function classifyGit(args: Arg[], context: ClassifyContext): Finding[] {
  let cwd = context.cwd;
  let index = 0;
  // Global options before the subcommand.
  while (index < args.length && args[index]!.value.startsWith('-')) {
    const option = args[index]!.value;
    if (option === '-C' && args[index + 1]) {
      cwd = args[index + 1]!.dynamic ? '' : resolve(cwd, args[index + 1]!.value);
      index += 2;
    } else if (['-c', '--git-dir', '--work-tree', '--namespace', '--exec-path'].includes(option)) index += 2;
    else index += 1;
  }
  const sub = args[index];
  if (!sub) return [];
  if (sub.dynamic) return [{ category: 'obfuscated', reason: 'git subcommand computed at run time' }];
  if (sub.value !== 'push') return [];
  const rest = args.slice(index + 1);
  const findings: Finding[] = [];
  const positional: Arg[] = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    const value = arg.value;
    if (arg.dynamic) {
      findings.push({ category: 'protected_push', reason: `git push with an argument computed at run time (${arg.text})` });
      continue;
    }
    if (value === '--') continue;
    if (/^(-f|--force|--force-with-lease.*|--force-if-includes)$/.test(value) || /^-[a-zA-Z]*f[a-zA-Z]*$/.test(value)) findings.push({ category: 'protected_push', reason: 'git push --force' });
    else if (value === '--mirror' || value === '--all' || value === '--branches') findings.push({ category: 'protected_push', reason: `git push ${value}` });
    else if (['-o', '--push-option', '--repo', '--receive-pack', '--exec'].includes(value)) i++;
    else if (value === '--delete' || value === '-d') positional.push({ value: ':', dynamic: false, pattern: false, text: ':' });
    else if (!value.startsWith('-')) positional.push(arg);
  }
  const deleting = positional.some((arg) => arg.value === ':');
  const refspecs = positional.filter((arg) => arg.value !== ':').slice(1);
  const protectedPatterns = [...context.policy.protectedBranches, ...(context.repoProtectedBranches ?? repoProtectedBranches)(cwd || context.cwd)];
  const isProtected = (branch: string) => isProtectedBranch(protectedPatterns, branch);
  if (refspecs.length === 0) {
    const branch = cwd ? (context.currentBranch ?? currentBranch)(cwd) : undefined;
    if (branch === undefined) findings.push({ category: 'protected_push', reason: 'git push of the current branch, which could not be determined' });
    else if (isProtected(branch)) findings.push({ category: 'protected_push', reason: `git push of the current branch ${branch}, which is protected` });
  }
  for (const refspec of refspecs) {
    let spec = refspec.value;
    if (spec.startsWith('+')) {
      findings.push({ category: 'protected_push', reason: `git push ${spec} (a forced update)` });
      spec = spec.slice(1);
    }
    let destination = spec.includes(':') ? spec.slice(spec.indexOf(':') + 1) : deleting ? spec : spec;
    if (!spec.includes(':') && (spec === 'HEAD' || spec === '@')) {
      const branch = cwd ? (context.currentBranch ?? currentBranch)(cwd) : undefined;
      if (branch === undefined) {
        findings.push({ category: 'protected_push', reason: 'git push HEAD, whose branch could not be determined' });
        continue;
      }
      destination = branch;
    }
    destination = destination.replace(/^refs\/heads\//, '');
    if (isProtected(destination)) findings.push({ category: 'protected_push', reason: `git push to protected branch ${destination}${deleting || spec.startsWith(':') ? ' (delete)' : ''}` });
  }
  return findings;
}

function databaseTarget(name: string, args: Arg[], env: Map<string, string>, context: ClassifyContext): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg.dynamic) return `a connection computed at run time (${arg.text})`;
    const value = arg.value;
    let host: string | undefined;
    if (['-h', '--host', '-H'].includes(value) && name !== 'mongosh') host = args[i + 1]?.dynamic ? '$(dynamic)' : args[i + 1]?.value;
    else if (value === '--host' && name === 'mongosh') host = args[i + 1]?.value;
    else if (/^--host=/.test(value)) host = value.slice('--host='.length);
    else if (/^-h\S+/.test(value) && name !== 'redis-cli') host = value.slice(2);
    else if (value === '-u' && name === 'redis-cli') host = hostOfUrl(args[i + 1]?.value ?? '');
    else if (/^[a-z+]+:\/\//i.test(value)) host = hostOfUrl(value);
    else if (/^(host|hostaddr)=/.test(value)) host = value.split('=')[1];
    else if (/(^|\s)host=([^\s]+)/.test(value)) host = /(^|\s)host=([^\s]+)/.exec(value)![2];
    if (host !== undefined && !isLoopback(host)) return host;
  }
  const hostVar = DB_HOST_ENV[name];
  const envHost = hostVar ? (env.get(hostVar) ?? context.env[hostVar]) : undefined;
  if (envHost && !isLoopback(envHost)) return `${envHost} (from ${hostVar})`;
  return undefined;
}

const MIGRATORS: Record<string, RegExp> = {
  prisma: /^(migrate|db)$/,
  knex: /^migrate:/,
  alembic: /^(upgrade|downgrade|stamp)$/,
  sequelize: /^db:(migrate|seed)/,
  'sequelize-cli': /^db:(migrate|seed)/,
  flyway: /^(migrate|clean|repair|baseline)$/,
  dbmate: /^(up|migrate|rollback|down|drop|create)$/,
  migrate: /^(up|down|goto|force|drop)$/,
  rails: /^db:/,
  rake: /^db:/,
  typeorm: /^migration:run|^schema:sync/,
  'drizzle-kit': /^(push|migrate)$/,
  liquibase: /^(update|rollback)/,
};

function migrationTarget(name: string, args: Arg[], env: Map<string, string>, context: ClassifyContext): string | undefined {
  const pattern = MIGRATORS[name];
  if (!pattern || !args.some((arg) => pattern.test(arg.value))) return undefined;
  for (const arg of args) {
    if (/^[a-z+]+:\/\//i.test(arg.value) || /^-?-?(database|url|db-url)=/.test(arg.value)) {
      const host = hostOfUrl(arg.value.replace(/^-?-?[\w-]+=/, ''));
      if (host && !isLoopback(host)) return host;
    }
    if (arg.dynamic && /URL|DATABASE|DSN/i.test(arg.text)) return `a URL computed at run time (${arg.text})`;
  }
  for (const key of DATABASE_URL_VARS) {
    const url = env.get(key) ?? context.env[key];
    if (url?.includes('$')) return `a URL computed at run time (${key}=${url})`;
    const host = url ? hostOfUrl(url) : undefined;
    if (host && !isLoopback(host)) return `${host} (from ${key})`;
  }
  return undefined;
}

function argOf(word: Word): Arg {
  const parts = word.parts ?? [];
  return { value: word.value, text: word.text, dynamic: hasPart(parts, DYNAMIC_PARTS), pattern: hasPart(parts, PATTERN_PARTS) };
}

function hasPart(parts: readonly WordPart[], types: Set<string>): boolean {
  return parts.some((part) => types.has(part.type) || ('parts' in part && Array.isArray(part.parts) && hasPart(part.parts as WordPart[], types)));
}

/** `$VAR` and `${VAR}` filled in from assignments on the command line and the child's environment. */
function expandFromEnv(text: string, env: Map<string, string>, context: ClassifyContext, keepUnknown = false): string {
  return text
    .replace(/^"|"$/g, '')
    .replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (match, key: string) => env.get(key) ?? context.env[key] ?? (keepUnknown ? match : ''));
}

function hostOfUrl(url: string): string | undefined {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, '') || undefined;
  } catch {
    return undefined;
  }
}

function isLoopback(host: string): boolean {
  return host === '' || host === 'localhost' || host.startsWith('127.') || host === '::1' || host.startsWith('/');
}

function resolvePath(path: string, context: ClassifyContext): string {
  const expanded = path.startsWith('~/') ? `${context.env.HOME || homedir()}${path.slice(1)}` : path;
  return isAbsolute(expanded) ? resolve(expanded) : resolve(context.cwd, expanded);
}

/** ringmaster's own state (store, policy, agent folders), where a child may not write; the worktrees are excluded. */
function isRingmasterState(path: string, context: ClassifyContext): boolean {
  return isUnder(path, context.ringmasterHome) && !isUnder(path, context.worktreeRoot);
}

function isUnder(path: string, root: string): boolean {
  const rel = relative(resolve(root), path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** Whether a branch is protected by the policy's patterns (`*` within a segment, `**` across). */
export function isProtectedBranch(patterns: string[], branch: string): boolean {
  return patterns.some((pattern) => globToRegex(pattern).test(branch));
}

function globToRegex(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*/g, '\u0000').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]').replace(/\u0000/g, '.*');
  return new RegExp(`^${escaped}$`);
}

function currentBranch(cwd: string): string | undefined {
  try {
    return execFileSync('git', ['symbolic-ref', '--quiet', '--short', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** A repo can protect more branches: `git config --add ringmaster.protected 'prod/*'`. */
function repoProtectedBranches(cwd: string): string[] {
  try {
    return execFileSync('git', ['config', '--get-all', 'ringmaster.protected'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 }).split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

function dedupe(findings: Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((finding) => {
    const key = `${finding.category}:${finding.reason}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
