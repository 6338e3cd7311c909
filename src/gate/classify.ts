import { execFileSync } from 'node:child_process';
import { homedir } from 'node:os';
import { basename, isAbsolute, relative, resolve } from 'node:path';
import { forEachChild, parse, type Command, type SyntaxNode, type Word, type WordPart } from 'unbash';
import { isProtectedBranch, type Category, type Policy } from './policy.js';

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
  /** Set when a `cd` earlier in the call went somewhere the gate cannot know; `cwd` is then only a guess. */
  cwdUnknown?: boolean;
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
const SHELLS = new Set(['bash', 'sh', 'zsh', 'dash', 'ksh', 'mksh', 'ash', 'fish', 'busybox-sh']);
/** Programs that cannot send anything over the network: a Slack URL in their arguments is text, not a message. */
const NO_NETWORK = new Set([...READ_ONLY, 'git', 'sed', 'sort', 'uniq', 'cut', 'tr', 'diff', 'cmp', 'comm', 'tee', 'mkdir', 'touch', 'cp', 'mv', 'rm', 'ln', 'ag', 'ack', 'egrep', 'fgrep', 'tree', 'basename', 'dirname', 'true', 'false', ':', 'column', 'nl', 'awk', 'gawk', 'mawk', 'base64', 'xxd', 'md5sum', 'sha256sum', 'cd', 'pwd', 'export', 'declare', 'typeset', 'local', 'readonly', 'unset', 'which', 'type', 'whereis', 'hash', 'alias']);
/** Tools that only read or write local files: what their content mentions is not sent anywhere. */
const LOCAL_TOOLS = new Set(['Read', 'Write', 'Edit', 'MultiEdit', 'NotebookEdit', 'NotebookRead', 'Glob', 'Grep', 'LS', 'TodoWrite']);
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
  // Writing a file that mentions a webhook sends nothing; only tools that reach out (WebFetch, MCP tools, unknown ones) are checked.
  if (!LOCAL_TOOLS.has(toolName)) {
    for (const value of Object.values(toolInput)) {
      if (typeof value === 'string' && SLACK_URL.test(value)) findings.push({ category: 'slack', reason: `${toolName} to a Slack URL` });
    }
  }
  for (const key of ['file_path', 'notebook_path', 'path']) {
    const path = toolInput[key];
    if (typeof path === 'string' && ['Write', 'Edit', 'MultiEdit', 'NotebookEdit'].includes(toolName) && isRingmasterState(resolvePath(path, context), context)) {
      findings.push({ category: 'self_approval', reason: `${toolName} into ringmaster's own folder ${context.ringmasterHome}` });
    }
  }
  return dedupe(findings);
}

/**
 * What a call's earlier commands leave for its later ones: the working folder
 * after `cd`, shell variables, and AWS credentials set or exported. It lives
 * for one call only: Claude Code runs every Bash call in a fresh shell.
 */
interface Walk {
  /** '' when a `cd` went somewhere the gate cannot know. */
  cwd: string;
  vars: Map<string, string>;
  /** The AWS credential variable set earlier in this call, if any. */
  aws?: string;
}

/** Where a command's standard input comes from, when that can be code (`curl … | sh`). */
type Stdin = { kind: 'pipe'; from: SyntaxNode } | { kind: 'unknown' } | undefined;

export function classifyCommand(command: string, context: ClassifyContext, depth = 0, inherited?: Walk): Finding[] {
  if (depth > MAX_DEPTH) return [{ category: 'obfuscated', reason: 'shell commands nested too deeply to read' }];
  const script = parse(command);
  if (script.errors?.length) return [{ category: 'obfuscated', reason: `the command could not be parsed (${script.errors[0]!.message})` }];
  const findings: Finding[] = [];
  let walk: Walk = inherited ? copyWalk(inherited) : { cwd: context.cwdUnknown ? '' : context.cwd, vars: new Map() };
  const here = (): ClassifyContext => ({ ...context, cwd: walk.cwd || context.cwd, cwdUnknown: !walk.cwd || context.cwdUnknown });
  // Runs `body` in a subshell: a `cd` or assignment inside does not outlive it.
  const sub = (body: () => void) => {
    const saved = copyWalk(walk);
    body();
    walk = saved;
  };
  const visit = (node: SyntaxNode, stdin: Stdin): void => {
    switch (node.type) {
      case 'Command': {
        const result = classifySimpleCommand(node, here(), depth, walk, stdin);
        findings.push(...result.findings);
        forEachChild(node, (child) => sub(() => visit(child, undefined)));
        return;
      }
      case 'Pipeline': {
        if (node.commands.length === 1) return visit(node.commands[0]!, stdin);
        // Each part of a pipeline runs in its own subshell.
        node.commands.forEach((part, index) => sub(() => visit(part, index === 0 ? stdin : { kind: 'pipe', from: node.commands[index - 1]! })));
        // A Slack URL handed along a pipeline to a program that can send it (`echo URL | xargs curl`).
        const parts = node.commands.map((part) => (part.type === 'Command' ? pipelinePart(part, here()) : { slack: false, sends: true }));
        if (parts.some((part) => part.slack) && parts.some((part) => part.sends)) findings.push({ category: 'slack', reason: 'a pipeline that hands a Slack URL to a program that can send it' });
        return;
      }
      case 'Statement':
        if (node.background) return sub(() => visit(node.command, stdin));
        return visit(node.command, stdin);
      case 'Script':
      case 'CompoundList':
      case 'AndOr':
      case 'If':
      case 'Elif':
      case 'While':
      case 'For':
      case 'Select':
      case 'Case':
      case 'CaseItem':
      case 'BraceGroup':
        forEachChild(node, (child) => visit(child, stdin && { kind: 'unknown' }));
        return;
      case 'Subshell':
        return sub(() => forEachChild(node, (child) => visit(child, stdin && { kind: 'unknown' })));
      case 'Redirected': {
        const input = node.redirects.some((redirect) => redirect.type === 'HereDoc' || redirect.type === 'HereString' || (redirect.type === 'Redirect' && redirect.operator.startsWith('<')));
        forEachChild(node, (child) => visit(child, input || stdin ? { kind: 'unknown' } : undefined));
        return;
      }
      case 'Redirect':
        if (node.target) {
          const target = argOf(node.target);
          const path = target.dynamic ? expandPath(target, walk, context) : target.value;
          if (path !== undefined && isRingmasterState(resolvePath(path, here()), context) && node.operator.includes('>')) {
            findings.push({ category: 'self_approval', reason: `writes into ringmaster's own folder (${target.value})` });
          }
        }
        forEachChild(node, (child) => sub(() => visit(child, undefined)));
        return;
      default:
        // Words and their expansions: `$(…)`, `<(…)` run in subshells.
        forEachChild(node, (child) => sub(() => visit(child, undefined)));
    }
  };
  visit(script, undefined);
  return dedupe(findings);
}

function copyWalk(walk: Walk): Walk {
  return { cwd: walk.cwd, vars: new Map(walk.vars), aws: walk.aws };
}

function pipelinePart(command: Command, context: ClassifyContext): { slack: boolean; sends: boolean } {
  const argv = unwrap(wordsOf(command), new Map());
  const name = argv[0] && !argv[0].dynamic ? basename(argv[0].value) : '';
  const slack = wordsOf(command).some((arg) => SLACK_URL.test(arg.value) || SLACK_URL.test(expandFromEnv(arg.text, new Map(), context)));
  return { slack, sends: !NO_NETWORK.has(name) };
}

function wordsOf(command: Command): Arg[] {
  const words: Arg[] = command.name ? [argOf(command.name)] : [];
  for (const item of command.suffix) {
    if (item.type === 'Word') words.push(argOf(item));
    // `export X=1`, `alias a='…'`, `declare -x X=1` arrive as assignments.
    else if (item.type === 'Assignment') {
      const value = item.value.type === 'Word' ? argOf(item.value) : { value: '', text: item.text, dynamic: true, pattern: false };
      words.push({ value: `${item.name}=${value.value}`, text: item.text, dynamic: value.dynamic, pattern: value.pattern });
    }
  }
  return words;
}

function classifySimpleCommand(command: Command, context: ClassifyContext, depth: number, walk: Walk, stdin: Stdin): { findings: Finding[] } {
  const findings: Finding[] = [];
  const env = new Map<string, string>(walk.vars);
  const assigned: string[] = [];
  for (const item of command.prefix) {
    if (item.type !== 'Assignment' || item.value?.type !== 'Word') {
      if (item.type === 'Assignment') assigned.push(item.name);
      continue;
    }
    const value = argOf(item.value);
    // A value built at run time is resolved from the child's environment where possible; otherwise its text stays, `$` and all.
    env.set(item.name, value.dynamic ? expandFromEnv(value.text, env, context, true) : value.value);
    assigned.push(item.name);
  }
  let argv = wordsOf(command);
  if (argv.length === 0) {
    // `X=1` alone sets a shell variable for the rest of this call.
    for (const name of assigned) {
      walk.vars.set(name, env.get(name) ?? '');
      if (AWS_CREDENTIAL_VARS.has(name)) walk.aws = name;
    }
    return { findings };
  }
  if (walk.aws) findings.push({ category: 'aws', reason: `runs after ${walk.aws} was set earlier in this call` });
  for (const name of assigned) if (AWS_CREDENTIAL_VARS.has(name)) findings.push({ category: 'aws', reason: `runs with AWS credentials in its environment (${name})` });
  argv = unwrap(argv, env);
  for (const name of env.keys()) if (AWS_CREDENTIAL_VARS.has(name) && !walk.vars.has(name) && !assigned.includes(name)) findings.push({ category: 'aws', reason: `runs with AWS credentials in its environment (${name})` });
  if (argv.length === 0) return { findings };

  const head = argv[0]!;
  if (head.dynamic || head.pattern) {
    findings.push({ category: 'obfuscated', reason: `the command name is computed at run time (${head.text})` });
    return { findings };
  }
  const name = basename(head.value);
  const args = argv.slice(1);
  const values = args.map((arg) => arg.value);
  const extra = (category: Category) => context.policy.categories[category].commands.includes(name);
  const nested = (script: string) => classifyCommand(script, context, depth + 1, walk);
  const inputs = command.suffix.concat(command.prefix as never[]).filter((item) => item.type === 'HereDoc' || item.type === 'HereString' || (item.type === 'Redirect' && item.operator === '<'));

  // A Slack URL in the arguments of a program that can send it (grep, cat, echo and git only read or print it).
  if (!NO_NETWORK.has(name)) {
    for (const arg of argv) if (SLACK_URL.test(arg.value) || SLACK_URL.test(expandFromEnv(arg.text, env, context))) findings.push({ category: 'slack', reason: `sends to a Slack URL` });
    for (const input of inputs) if (input.type === 'HereDoc' && SLACK_URL.test(input.body.text)) findings.push({ category: 'slack', reason: 'sends to a Slack URL given on its standard input' });
    for (const input of inputs) if (input.type === 'HereString' && input.target && SLACK_URL.test(expandFromEnv(input.target.text, env, context))) findings.push({ category: 'slack', reason: 'sends to a Slack URL given on its standard input' });
  }

  // Variables, exports and the working folder that later commands of this call see.
  if (['export', 'declare', 'typeset', 'local', 'readonly'].includes(name)) {
    for (const arg of args) {
      const match = /^([A-Za-z_][A-Za-z0-9_]*)(=(.*))?$/s.exec(arg.value);
      if (!match) continue;
      if (match[2] !== undefined) walk.vars.set(match[1]!, arg.dynamic ? expandFromEnv(arg.text.replace(/^[^=]*=/, ''), env, context, true) : match[3]!);
      if (AWS_CREDENTIAL_VARS.has(match[1]!)) walk.aws = match[1]!;
    }
    return { findings };
  }
  if (name === 'cd' || name === 'pushd' || name === 'popd') {
    const target = args.find((arg) => !arg.value.startsWith('-') || arg.value === '-');
    if (name === 'popd' || target?.value === '-') walk.cwd = '';
    else if (!target) walk.cwd = context.env.HOME || homedir();
    else {
      const path = target.dynamic ? expandPath(target, walk, context) : target.pattern ? undefined : target.value;
      walk.cwd = path === undefined || (!walk.cwd && !isAbsolute(path) && !path.startsWith('~')) ? '' : resolvePath(path, { ...context, cwd: walk.cwd || '/' });
    }
    return { findings };
  }
  // `hash -p /path/to/aws ls` makes a later `ls` run aws.
  if (name === 'hash' && values.some((value) => /^-[a-zA-Z]*p/.test(value))) findings.push({ category: 'obfuscated', reason: 'hash -p makes a name run another program' });
  if (name === 'alias') {
    for (const arg of args) {
      const eq = arg.value.indexOf('=');
      if (eq > 0) findings.push(...(arg.dynamic ? [{ category: 'obfuscated' as const, reason: 'an alias computed at run time' }] : nested(arg.value.slice(eq + 1))));
    }
    return { findings };
  }

  // Nested scripts: bash -c '…', eval …, a script fed to a shell on its standard input.
  if (SHELLS.has(name)) {
    const flag = args.findIndex((arg) => /^-[a-z]*c[a-z]*$/.test(arg.value));
    if (flag >= 0) {
      const script = args[flag + 1];
      if (!script) return { findings };
      if (script.dynamic) findings.push({ category: 'obfuscated', reason: `${name} -c runs a script computed at run time` });
      else findings.push(...nested(script.value));
      return { findings };
    }
    const file = shellScriptFile(args);
    if (file === undefined) findings.push(...scriptFromStdin(name, inputs, stdin, env, context, nested));
  }
  if (name === 'eval') {
    if (args.some((arg) => arg.dynamic)) findings.push({ category: 'obfuscated', reason: 'eval of text computed at run time' });
    else findings.push(...nested(values.join(' ')));
    return { findings };
  }
  const language = interpreterOf(name);
  if (language) findings.push(...classifyInterpreter(name, language, args, inputs, stdin, env, context, depth, walk));

  if (name === 'ringmaster' && values.some((value) => ['approve', 'deny', 'grant'].includes(value))) {
    findings.push({ category: 'self_approval', reason: 'a child may not run ringmaster approve or deny' });
  }
  if (values.some((value) => /cli\.js$/.test(value)) && values.some((value) => ['approve', 'deny'].includes(value)) && values.some((value) => /ringmaster/.test(value))) {
    findings.push({ category: 'self_approval', reason: 'a child may not run ringmaster approve or deny' });
  }
  if (!READ_ONLY.has(name)) {
    for (const arg of args) {
      const path = arg.dynamic ? expandPath(arg, walk, context) : arg.value;
      if (path && isRingmasterState(resolvePath(path.replace(/^--?[\w-]+=/, ''), context), context)) {
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
  if (name === 'git') findings.push(...classifyGit(args, context, nested));
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
  return { findings };
}

/** The script file a shell runs, or undefined when it reads its script from standard input. */
function shellScriptFile(args: Arg[]): Arg | undefined {
  for (let i = 0; i < args.length; i++) {
    const value = args[i]!.value;
    if (value === '-s' || value === '-' || value === '--') return undefined;
    if (/^[-+]o$/.test(value) || value === '--rcfile' || value === '--init-file') {
      i++;
      continue;
    }
    if (/^[-+]/.test(value)) {
      if (/^-[a-z]*s/.test(value)) return undefined;
      continue;
    }
    return args[i];
  }
  return undefined;
}

type Input = Command['suffix'][number];

/** A script on a shell's (or interpreter's) standard input: a here-doc, a here-string, `< file`, or a pipe. */
function scriptFromStdin(name: string, inputs: Input[], stdin: Stdin, env: Map<string, string>, context: ClassifyContext, classify: (script: string) => Finding[]): Finding[] {
  const input = inputs[inputs.length - 1];
  if (input?.type === 'HereDoc') return classify(input.body.text);
  if (input?.type === 'HereString') {
    if (!input.target) return [];
    const target = argOf(input.target);
    return target.dynamic ? [{ category: 'obfuscated', reason: `${name} runs a here-string computed at run time` }] : classify(target.value);
  }
  if (input?.type === 'Redirect') return [{ category: 'obfuscated', reason: `${name} runs a script from ${input.target?.text ?? 'a file'} that the gate cannot read` }];
  if (!stdin) return [];
  if (stdin.kind === 'pipe' && stdin.from.type === 'Command') {
    const upstream = wordsOf(stdin.from);
    const upstreamName = upstream[0] && !upstream[0].dynamic ? basename(upstream[0].value) : '';
    if ((upstreamName === 'echo' || upstreamName === 'printf') && upstream.slice(1).every((arg) => !arg.dynamic)) {
      const text = upstream.slice(1).filter((arg, index) => !(index === 0 && /^-[neE]+$/.test(arg.value))).map((arg) => arg.value).join(' ');
      return classify(upstreamName === 'printf' ? text.replace(/\\n/g, '\n') : text);
    }
    void env;
    void context;
    return [{ category: 'obfuscated', reason: `a script piped into ${name} (from ${upstreamName || 'a computed command'}), which the gate cannot read` }];
  }
  return [{ category: 'obfuscated', reason: `a script fed to ${name} on its standard input, which the gate cannot read` }];
}

type Language = 'python' | 'node' | 'perl' | 'ruby' | 'php' | 'awk';

function interpreterOf(name: string): Language | undefined {
  if (/^python[\d.]*$/.test(name) || name === 'pypy' || name === 'pypy3') return 'python';
  if (name === 'node' || name === 'nodejs' || name === 'bun' || name === 'deno') return 'node';
  if (name === 'perl') return 'perl';
  if (name === 'ruby') return 'ruby';
  if (name === 'php') return 'php';
  if (name === 'awk' || name === 'gawk' || name === 'mawk' || name === 'nawk') return 'awk';
  return undefined;
}

/** `python -c`, `node -e`, `perl -e`, `ruby -e`, `php -r`, awk programs, and the same code fed on standard input. */
function classifyInterpreter(name: string, language: Language, args: Arg[], inputs: Input[], stdin: Stdin, env: Map<string, string>, context: ClassifyContext, depth: number, walk: Walk): Finding[] {
  const codes: Arg[] = [];
  let script: Arg | undefined;
  const codeFlag = { python: /^-[a-zA-Z]*c$/, node: /^(-[a-zA-Z]*[ep]|--eval|--print)$/, perl: /^-[a-zA-Z]*[eE]$/, ruby: /^-[a-zA-Z]*e$/, php: /^-r$/, awk: /^$/ }[language];
  const valueFlags = { python: ['-m', '-W', '-X', '-Q'], node: ['-r', '--require', '--import', '--loader', '--input-type', '-C', '--conditions'], perl: ['-I', '-M', '-m'], ruby: ['-I', '-r'], php: ['-d', '-c'], awk: ['-v', '-F', '-f'] }[language];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (language === 'awk' && arg.value === '-f') return [];
    if (codeFlag.test(arg.value) || /^--(eval|print)=/.test(arg.value)) {
      const code = /^--(eval|print)=/.test(arg.value) ? { ...arg, value: arg.value.replace(/^--\w+=/, '') } : args[i + 1];
      if (code) codes.push(code);
      i++;
      if (language === 'python') break;
      continue;
    }
    if (valueFlags.includes(arg.value)) {
      if (language === 'python' && arg.value === '-m') return [];
      i++;
      continue;
    }
    if (arg.value === '-') break;
    if (arg.value.startsWith('-') && arg.value !== '--') continue;
    if (arg.value === '--') continue;
    if (codes.length === 0) script = arg;
    break;
  }
  if (language === 'awk') {
    const program = args.find((arg, index) => !arg.value.startsWith('-') && !['-v', '-F'].includes(args[index - 1]?.value ?? ''));
    if (!program) return [];
    codes.push(program);
    script = undefined;
  }
  const findings: Finding[] = [];
  if (codes.length === 0 && !script) {
    // The code comes from standard input: `python3 <<EOF`, `curl … | node`, `perl < x.pl`.
    findings.push(...scriptFromStdin(name, inputs, stdin, env, context, (code) => inspectCode(name, language, code, env, context, depth, walk)));
    return findings;
  }
  for (const code of codes) {
    if (code.dynamic) findings.push({ category: 'obfuscated', reason: `${name} runs code computed at run time (${code.text})` });
    else findings.push(...inspectCode(name, language, code.value, env, context, depth, walk));
  }
  return findings;
}

const AWS_SDK = /\bboto3\b|\bbotocore\b|\baws-sdk\b|@aws-sdk\/|\bamazonaws\.com\b|\baws_sdk\b|\bAws::/;
const RUNS_PROGRAMS = /subprocess|\bos\.(system|popen|exec\w*|spawn\w*)|\bpty\.spawn|\bcommands\.getoutput|child_process|\bexecSync\b|\bspawnSync\b|\bexecFile(Sync)?\b|\bexec\s*\(|\bspawn\s*\(|\bsystem\s*\(|%x\{|\bIO\.popen|\bOpen3\b|Bun\.spawn|Bun\.\$|Deno\.(run|Command)|\bshell_exec\b|\bpassthru\b|\bproc_open\b|\|\s*getline|print\s*\|/;
const DB_URL = /\b(postgres(ql)?|mysql|mariadb|mongodb(\+srv)?|redis|rediss):\/\/[^\s'"]+/gi;

/** Code given to an interpreter: its HTTP clients, SDKs and the programs it runs. */
function inspectCode(name: string, language: Language, code: string, env: Map<string, string>, context: ClassifyContext, depth: number, walk: Walk): Finding[] {
  const findings: Finding[] = [];
  // awk has no HTTP client or SDK: only the programs it runs matter (`/hooks.slack.com/` in it is a search).
  if (language !== 'awk') findings.push(...inspectLibraries(name, code, env, context));
  // Backticks run a command in perl, ruby and php; in JavaScript and Python they quote text.
  if (RUNS_PROGRAMS.test(code) || (['perl', 'ruby', 'php'].includes(language) && code.includes('`'))) {
    // The programs it runs are string literals: 'aws s3 ls', ['git', 'push', 'origin', 'main'].
    const literals = [...code.matchAll(/'((?:[^'\\\n]|\\.)*)'|"((?:[^"\\\n]|\\.)*)"|`((?:[^`\\]|\\.)*)`/g)].map((match) => (match[1] ?? match[2] ?? match[3] ?? '').replace(/\\(.)/g, '$1'));
    const lists = [...code.matchAll(/[[(]\s*((?:(?:'[^'\n]*'|"[^"\n]*")\s*,\s*)+(?:'[^'\n]*'|"[^"\n]*")\s*,?)\s*[\])]/g)].map((match) => [...match[1]!.matchAll(/'([^'\n]*)'|"([^"\n]*)"/g)].map((item) => shellQuote(item[1] ?? item[2] ?? '')).join(' '));
    // spawn('git', ['push', …]) and execFile('aws', ['s3', 'ls']).
    const calls = [...code.matchAll(/(['"])([\w./-]+)\1\s*,\s*\[((?:\s*(?:'[^'\n]*'|"[^"\n]*")\s*,?)*)\s*\]/g)].map((match) => [match[2]!, ...[...match[3]!.matchAll(/'([^'\n]*)'|"([^"\n]*)"/g)].map((item) => item[1] ?? item[2] ?? '')].map(shellQuote).join(' '));
    if (literals.length === 0) findings.push({ category: 'obfuscated', reason: `${name} code that runs a program the gate cannot see` });
    for (const text of [...literals, ...lists, ...calls]) {
      if (!text.trim()) continue;
      // A string literal is not always a command: only what it clearly runs counts, not text the gate cannot read (`v${x}`).
      findings.push(...classifyCommand(text, context, depth + 1, walk).filter((finding) => finding.category !== 'obfuscated'));
    }
  }
  return findings;
}

function inspectLibraries(name: string, code: string, env: Map<string, string>, context: ClassifyContext): Finding[] {
  const findings: Finding[] = [];
  if (SLACK_URL.test(code)) findings.push({ category: 'slack', reason: `${name} code that sends to a Slack URL` });
  for (const match of code.matchAll(/\b[A-Z][A-Z0-9_]{2,}\b/g)) {
    const value = env.get(match[0]) ?? context.env[match[0]];
    if (value && SLACK_URL.test(value)) findings.push({ category: 'slack', reason: `${name} code that reads a Slack URL from $${match[0]}` });
    if (AWS_CREDENTIAL_VARS.has(match[0]) && /environ|process\.env|ENV\[|getenv|putenv/.test(code)) findings.push({ category: 'aws', reason: `${name} code that sets or reads ${match[0]}` });
  }
  if (AWS_SDK.test(code)) findings.push({ category: 'aws', reason: `${name} code that uses an AWS SDK` });
  for (const match of code.matchAll(DB_URL)) {
    const host = hostOfUrl(match[0]);
    if (host && !isLoopback(host)) findings.push({ category: 'database', reason: `${name} code that connects to ${host}` });
  }
  return findings;
}

function shellQuote(value: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Words back into shell text, keeping computed words as written so a re-parse still sees them as computed. */
function asScript(words: Arg[]): string {
  return words.map((word) => (word.dynamic || word.pattern ? word.text : shellQuote(word.value))).join(' ');
}

function shellRunning(script: string, dynamic = false): Arg[] {
  return [literal('sh'), literal('-c'), { value: script, text: shellQuote(script), dynamic, pattern: false }];
}

function literal(value: string): Arg {
  return { value, text: value, dynamic: false, pattern: false };
}

/** A path argument built from `$VAR`s, filled in from this call's variables and the child's environment; undefined if it runs commands. */
function expandPath(arg: Arg, walk: Walk, context: ClassifyContext): string | undefined {
  if (/\$\(|`|<\(|>\(|\$\{[^}]*[^A-Za-z0-9_}]/.test(arg.text)) return undefined;
  const text = arg.text.replace(/^'([^']*)'$/, '$1').replace(/"/g, '');
  // A variable neither this call nor the child's environment defines: the path is unknown.
  for (const match of text.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)) if (!walk.vars.has(match[1]!) && context.env[match[1]!] === undefined) return undefined;
  if (/\$[^A-Za-z_{]/.test(text)) return undefined;
  return expandFromEnv(text, walk.vars, context);
}

/** Peels off commands that run another command: sudo, env, nice, timeout, xargs, npx, watch, flock, find -exec … */
function unwrap(argv: Arg[], env: Map<string, string>): Arg[] {
  for (let guard = 0; guard < 10 && argv.length > 0 && !argv[0]!.dynamic; guard++) {
    const name = basename(argv[0]!.value);
    let rest = argv.slice(1);
    const skipOptions = (withValue: string[]) => {
      while (rest.length && rest[0]!.value.startsWith('-') && rest[0]!.value !== '--' && rest[0]!.value !== '-') {
        const option = rest[0]!.value;
        rest = rest.slice(1);
        if (withValue.includes(option) && rest.length) rest = rest.slice(1);
      }
      if (rest[0]?.value === '--') rest = rest.slice(1);
    };
    /** The value of `-c CMD`, `-cCMD`, `--command CMD` or `--command=CMD`, if any. */
    const commandOption = (short: string, long: string): Arg | undefined => {
      for (let i = 0; i < rest.length; i++) {
        const value = rest[i]!.value;
        if (value === '--') return undefined;
        if (value === long || new RegExp(`^-[a-zA-Z]*${short}$`).test(value)) return rest[i + 1] ?? literal('');
        if (value.startsWith(`${long}=`)) return { ...rest[i]!, value: value.slice(long.length + 1) };
      }
      return undefined;
    };
    switch (name) {
      case 'sudo':
      case 'doas':
        skipOptions(['-u', '-g', '-p', '-C', '-h', '-U', '-r', '-t', '-D', '--user', '--group', '--chdir']);
        break;
      case 'env': {
        const split = rest.findIndex((arg) => arg.value === '-S' || arg.value.startsWith('--split-string') || /^-S./.test(arg.value));
        if (split >= 0) {
          const option = rest[split]!;
          const inline = option.value.startsWith('--split-string=') ? option.value.slice('--split-string='.length) : /^-S./.test(option.value) ? option.value.slice(2) : undefined;
          const text = inline ?? rest[split + 1]?.value ?? '';
          const after = rest.slice(split + (inline === undefined ? 2 : 1));
          return shellRunning(`${text} ${asScript(after)}`.trim(), option.dynamic || (inline === undefined && !!rest[split + 1]?.dynamic));
        }
        skipOptions(['-u', '-C', '--unset', '--chdir']);
        while (rest.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(rest[0]!.value)) {
          const [key, ...value] = rest[0]!.value.split('=');
          env.set(key!, value.join('='));
          rest = rest.slice(1);
        }
        break;
      }
      case 'nice':
      case 'ionice':
      case 'stdbuf':
        skipOptions(['-n', '-c', '-i', '-p', '-o', '-e', '--adjustment', '--class', '--classdata']);
        break;
      case 'nohup':
      case 'time':
      case 'builtin':
      case 'exec':
        skipOptions(['-a']);
        break;
      case 'nsenter':
        skipOptions(['-t', '--target', '-S', '--setuid', '-G', '--setgid', '--wd', '-w']);
        break;
      case 'chronic':
      case 'unbuffer':
      case 'caffeinate':
      case 'catchsegv':
      case 'dbus-run-session':
      case 'torsocks':
      case 'proxychains':
      case 'proxychains4':
      case 'firejail':
      case 'unshare':
      case 'fakeroot':
      case 'nocorrect':
      case 'noglob':
        skipOptions(['-a', '-f']);
        break;
      case 'command':
        // `command -v aws` looks a program up; it does not run it.
        if (rest.some((arg) => /^-[a-zA-Z]*[vV]/.test(arg.value))) return [];
        skipOptions([]);
        break;
      case 'strace':
      case 'ltrace':
        skipOptions(['-o', '-e', '-p', '-s', '-u', '-E', '-a', '-I', '-b', '-P', '-X']);
        break;
      case 'xvfb-run':
        skipOptions(['-n', '-s', '-e', '-f', '-p', '--server-num', '--server-args', '--error-file', '--auth-file']);
        break;
      case 'systemd-run':
        skipOptions(['-p', '-u', '-E', '-M', '-H', '--unit', '--property', '--setenv', '--slice', '--description', '--uid', '--gid', '--working-directory']);
        break;
      case 'taskset':
      case 'chrt':
      case 'chroot':
      case 'cgexec':
        skipOptions(['-g']);
        rest = rest.slice(1); // the mask, priority, new root or group
        break;
      case 'busybox':
        break;
      case 'setsid':
        skipOptions([]);
        break;
      case 'timeout':
        skipOptions(['-s', '-k', '--signal', '--kill-after']);
        rest = rest.slice(1); // the duration
        break;
      case 'watch': {
        const exec = rest.some((arg) => /^-[a-zA-Z]*x$|^--exec$/.test(arg.value));
        skipOptions(['-n', '--interval', '-q', '--equexit']);
        // Without -x, watch hands its words to `sh -c`.
        if (!exec) return rest.length ? shellRunning(rest.length === 1 && !rest[0]!.dynamic ? rest[0]!.value : asScript(rest), rest.length === 1 && rest[0]!.dynamic) : [];
        break;
      }
      case 'flock': {
        const script = commandOption('c', '--command');
        if (script) return shellRunning(script.value, script.dynamic);
        skipOptions(['-w', '--timeout', '-E', '--conflict-exit-code']);
        rest = rest.slice(1); // the lock file
        break;
      }
      case 'script': {
        const script = commandOption('c', '--command');
        return script ? shellRunning(script.value, script.dynamic) : [];
      }
      case 'su':
      case 'runuser':
      case 'sg': {
        const script = commandOption('c', '--command');
        if (script) return shellRunning(script.value, script.dynamic);
        if (name === 'runuser' && rest.some((arg) => arg.value === '-u' || arg.value.startsWith('--user'))) {
          skipOptions(['-u', '-g', '-G', '-w', '--user', '--group', '--supp-group', '--whitelist-environment']);
          break;
        }
        if (name === 'sg') {
          rest = rest.slice(1);
          break;
        }
        return argv;
      }
      case 'parallel': {
        skipOptions(['-j', '--jobs', '-S', '--sshlogin', '--delay', '--timeout', '-n', '-N', '-L', '--max-args', '-I', '--colsep', '-d', '--delimiter', '-a', '--arg-file', '--joblog', '--results', '--tmpdir', '-E', '--halt', '--retries', '--tag-string', '--rpl', '--env']);
        const separator = rest.findIndex((arg) => /^:::+\+?$/.test(arg.value));
        const template = separator >= 0 ? rest.slice(0, separator) : rest;
        if (template.length) return shellRunning(asScript(template), false);
        // No command: the arguments (or the lines on standard input) are the commands.
        if (separator < 0) return [{ value: 'parallel', text: 'parallel (commands read from standard input)', dynamic: true, pattern: false }];
        const commands = rest.slice(separator + 1).filter((arg) => !/^:::+\+?$/.test(arg.value));
        return shellRunning(commands.map((arg) => (arg.dynamic ? arg.text : arg.value)).join('\n'), false);
      }
      case 'find': {
        // find … -exec CMD … ; (or +), -execdir, -ok, -okdir: each runs CMD.
        const scripts: string[] = [];
        for (let i = 0; i < rest.length; i++) {
          if (!['-exec', '-execdir', '-ok', '-okdir'].includes(rest[i]!.value)) continue;
          const end = rest.findIndex((arg, index) => index > i && (arg.value === ';' || arg.value === '+'));
          scripts.push(asScript(rest.slice(i + 1, end < 0 ? undefined : end)));
          i = end < 0 ? rest.length : end;
        }
        return scripts.length ? shellRunning(scripts.join('\n')) : argv;
      }
      case 'xargs':
        // -i, -e and -l take their optional value attached (-i{}), never as the next word.
        skipOptions(['-I', '-n', '-P', '-d', '-E', '-L', '-s', '-a', '--max-args', '--max-procs', '--delimiter', '--arg-file']);
        break;
      case 'npx':
      case 'bunx':
      case 'pnpx': {
        // npx -c 'cmd' runs a shell command.
        const script = commandOption('c', '--call');
        if (script) return shellRunning(script.value, script.dynamic);
        skipOptions(['-p', '--package']);
        break;
      }
      case 'pnpm':
      case 'yarn':
      case 'npm':
      case 'bun':
        if (['exec', 'dlx', 'x'].includes(rest[0]?.value ?? '')) {
          rest = rest.slice(1);
          skipOptions([]);
          break;
        }
        return argv;
      case 'uv':
      case 'poetry':
      case 'pipenv':
      case 'pdm':
      case 'hatch':
      case 'bundle':
        if (['run', 'exec'].includes(rest[0]?.value ?? '')) {
          rest = rest.slice(1);
          skipOptions(['--with', '--python', '-p', '--env', '-e']);
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

/** Git config values that run a shell command: `!` aliases, ssh and pager commands. */
function gitConfigRuns(key: string, value: string, nested: (script: string) => Finding[]): Finding[] {
  if (/^alias\./i.test(key)) return value.startsWith('!') ? nested(value.slice(1)) : nested(`git ${value}`);
  if (/^core\.(sshcommand|pager|editor|fsmonitor)$|askpass$|^(diff|merge)tool\..*\.cmd$|^sequence\.editor$|\.textconv$|^filter\..*\.(clean|smudge|process)$/i.test(key)) return nested(value);
  return [];
}

function classifyGit(args: Arg[], context: ClassifyContext, nested: (script: string) => Finding[] = () => []): Finding[] {
  let cwd = context.cwdUnknown ? '' : context.cwd;
  let index = 0;
  const findings: Finding[] = [];
  // Global options before the subcommand.
  while (index < args.length && args[index]!.value.startsWith('-')) {
    const option = args[index]!.value;
    if (option === '-C' && args[index + 1]) {
      cwd = args[index + 1]!.dynamic || (!cwd && !isAbsolute(args[index + 1]!.value)) ? '' : resolve(cwd || '/', args[index + 1]!.value);
      index += 2;
    } else if (option === '-c' && args[index + 1]) {
      const setting = args[index + 1]!;
      if (setting.dynamic) findings.push({ category: 'obfuscated', reason: `git -c ${setting.text}: a setting computed at run time` });
      else findings.push(...gitConfigRuns(setting.value.split('=')[0]!, setting.value.slice(setting.value.indexOf('=') + 1), nested));
      index += 2;
    } else if (['--git-dir', '--work-tree', '--namespace', '--exec-path', '--config-env'].includes(option)) index += 2;
    else index += 1;
  }
  const sub = args[index];
  if (!sub) return findings;
  if (sub.dynamic) return [...findings, { category: 'obfuscated', reason: 'git subcommand computed at run time' }];
  const after = args.slice(index + 1);
  const script = (words: Arg[]) => (words.some((word) => word.dynamic) ? [{ category: 'obfuscated' as const, reason: `git ${sub.value} runs a command computed at run time` }] : nested(words.map((word) => word.value).join(' ')));
  // Subcommands that run shell commands: rebase --exec, bisect run, submodule foreach, filter-branch filters, config of a `!` alias.
  if (sub.value === 'rebase' || sub.value === 'difftool' || sub.value === 'filter-branch') {
    after.forEach((arg, i) => {
      if (['-x', '--exec', '--extcmd', '-x'].includes(arg.value) || /^--[a-z-]*-filter$/.test(arg.value)) findings.push(...script(after.slice(i + 1, i + 2)));
      else if (/^--(exec|extcmd|[a-z-]*-filter)=/.test(arg.value)) findings.push(...script([{ ...arg, value: arg.value.slice(arg.value.indexOf('=') + 1) }]));
    });
  }
  if (sub.value === 'bisect' && after[0]?.value === 'run') findings.push(...script(after.slice(1)));
  if (sub.value === 'submodule' && after.some((arg) => arg.value === 'foreach')) findings.push(...script(after.slice(after.findIndex((arg) => arg.value === 'foreach') + 1).filter((arg) => !arg.value.startsWith('--'))));
  if (sub.value === 'config') {
    const words = after.filter((arg) => !arg.value.startsWith('-'));
    if (words.length >= 2 && !words[0]!.dynamic) findings.push(...(words[1]!.dynamic ? [{ category: 'obfuscated' as const, reason: 'git config of a value computed at run time' }] : gitConfigRuns(words[0]!.value, words[1]!.value, nested)));
  }
  if (sub.value !== 'push') return findings;
  const rest = args.slice(index + 1);
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
  const branchOf = (dir: string) => (context.currentBranch ? context.currentBranch(dir) : currentBranch(dir, context.env));
  const repoPatterns = context.repoProtectedBranches ? context.repoProtectedBranches(cwd || context.cwd) : repoProtectedBranches(cwd || context.cwd, context.env);
  const protectedPatterns = [...context.policy.protectedBranches, ...repoPatterns];
  const isProtected = (branch: string) => isProtectedBranch(protectedPatterns, branch);
  if (refspecs.length === 0) {
    const branch = cwd ? branchOf(cwd) : undefined;
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
      const branch = cwd ? branchOf(cwd) : undefined;
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

/** Git runs with the hook's environment (GIT_DIR and the like), wherever the classification runs: the hook or the classifier service. */
function currentBranch(cwd: string, env: Record<string, string | undefined>): string | undefined {
  try {
    return execFileSync('git', ['symbolic-ref', '--quiet', '--short', 'HEAD'], { cwd, env: env as NodeJS.ProcessEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** A repo can protect more branches: `git config --add ringmaster.protected 'prod/*'`. */
function repoProtectedBranches(cwd: string, env: Record<string, string | undefined>): string[] {
  try {
    return execFileSync('git', ['config', '--get-all', 'ringmaster.protected'], { cwd, env: env as NodeJS.ProcessEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 }).split('\n').filter(Boolean);
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
