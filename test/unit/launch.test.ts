import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildLaunchPlan } from '../../src/adapters/agent-cli.js';
import { loadConfig } from '../../src/config.js';
import { childEnvironment, envFileText, launchScript, shellWord } from '../../src/fleet/launch-script.js';
import { tempDir } from '../helpers/fixtures.js';

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const config = loadConfig({ HOME: dir });

describe('launch plans for each agent CLI', () => {
  const base = { config, extraArgs: [] as string[], settingsPath: '/s.json', systemPromptPlaceholder: '{system_prompt}', taskPlaceholder: '{task}' };

  it('claude: settings, appended system prompt, model, then -- and the task', () => {
    expect(buildLaunchPlan({ ...base, kind: 'claude', model: 'opus', extraArgs: ['--allowedTools', 'Bash'] })).toEqual({
      argv: ['claude', '--settings', '/s.json', '--strict-mcp-config', '--mcp-config', '{"mcpServers":{}}', '--append-system-prompt', '{system_prompt}', '--model', 'opus', '--allowedTools', 'Bash', '--', '{task}'],
      delivery: 'argv',
    });
  });

  it('claude: the configured permission mode applies unless extra_args choose one', () => {
    const withMode = { ...config, claude: { permissionMode: 'acceptEdits' as const } };
    expect(buildLaunchPlan({ ...base, kind: 'claude', config: withMode }).argv).toContain('acceptEdits');
    const chosen = buildLaunchPlan({ ...base, kind: 'claude', config: withMode, extraArgs: ['--permission-mode', 'plan'] }).argv;
    expect(chosen.filter((arg) => arg === '--permission-mode')).toHaveLength(1);
  });

  it('codex, opencode, aider and custom commands', () => {
    expect(buildLaunchPlan({ ...base, kind: 'codex' }).argv).toEqual(['codex', '--', '{task}']);
    expect(buildLaunchPlan({ ...base, kind: 'opencode', model: 'm' }).argv).toEqual(['opencode', '--model', 'm', '--prompt', '{task}']);
    expect(buildLaunchPlan({ ...base, kind: 'aider' })).toEqual({ argv: ['aider'], delivery: 'paste' });
    expect(buildLaunchPlan({ ...base, kind: 'custom', customCommand: ['my-agent', '--go'] }).argv).toEqual(['my-agent', '--go', '{task}']);
    expect(buildLaunchPlan({ ...base, kind: 'custom', customCommand: ['my-agent', '--prompt={task}'] }).argv).toEqual(['my-agent', '--prompt={task}']);
  });
});

describe('the launch script', () => {
  it('passes the task through bash byte for byte, including trailing newlines', () => {
    const task = `it's "quoted" $HOME \${X} \`id\` $(id) \\ ünï 🎪\n\n\n`;
    const taskFile = join(dir, 'task');
    writeFileSync(taskFile, task);
    const systemFile = join(dir, 'system');
    writeFileSync(systemFile, 'SYSTEM');
    const envFile = join(dir, 'env.sh');
    writeFileSync(envFile, envFileText({ ODD: `a'b"c$d\n` }));
    const out = join(dir, 'out');
    const script = launchScript({
      agentId: 'ag_1',
      agentName: 'n',
      envFile,
      worktreePath: dir,
      taskArgFile: taskFile,
      taskFile,
      systemPromptFile: systemFile,
      exitStatusFile: join(dir, 'exit-status'),
      argv: ['node', '-e', `require('fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify([process.argv.slice(1), process.env.ODD]))`, '{system_prompt}', 'pre-{task}'],
    });
    const scriptPath = join(dir, 'launch.sh');
    writeFileSync(scriptPath, script);
    execFileSync('bash', [scriptPath]);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual([['SYSTEM', `pre-${task}`], `a'b"c$d\n`]);
    expect(readFileSync(join(dir, 'exit-status'), 'utf8')).toBe('0\n');
  });

  it('quotes words for the shell', () => {
    expect(shellWord('plain')).toBe('plain');
    expect(shellWord("it's")).toBe(`'it'\\''s'`);
    expect(shellWord('')).toBe("''");
    expect(shellWord('--x={task}!')).toBe(`--x="$task"'!'`);
  });

  it("keeps the parent session's own variables out of the child", () => {
    const env = childEnvironment({ PATH: '/bin', CLAUDECODE: '1', CLAUDE_CODE_ENTRYPOINT: 'cli', TMUX: 'x', ANTHROPIC_BASE_URL: 'u', 'BAD-NAME': 'x' }, { EXTRA: '1' });
    expect(env).toEqual({ PATH: '/bin', ANTHROPIC_BASE_URL: 'u', EXTRA: '1' });
  });
});
