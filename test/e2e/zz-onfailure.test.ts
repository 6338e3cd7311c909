import { spawn } from 'node:child_process';
function runAsync(bin: string, args: string[], opts: any): Promise<{ status: number | null; signal: string | null; error?: unknown; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(bin, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    c.stdout.on('data', (d) => (stdout += d)); c.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => c.kill('SIGKILL'), opts.timeout);
    c.on('close', (status, signal) => { clearTimeout(t); resolve({ status, signal, stdout, stderr }); });
  });
}
import { existsSync, mkdirSync, writeFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'vitest';
import { appendFileSync } from 'node:fs';
const require_append = (line: string) => appendFileSync('/tmp/zz-cases.log', line + '\n');
import { CLAUDE_BIN, makeRepo, makeWorld } from '../helpers/fixtures.js';
import { claudeEnv, isMainConversation, isToolResultTurn, lastToolResult, startModelServer } from '../helpers/model-server.js';

it('probe onFailure/exec/async', async () => {
  let command = 'touch ran.txt';
  const model = await startModelServer(({ body }) => {
    if (!isMainConversation(body)) return { text: 'ok' };
    if (isToolResultTurn(body)) return { text: `tool said: ${lastToolResult(body)!.text.slice(0, 300)}` };
    return { toolUse: { name: 'Bash', input: { command, description: 'x' } } };
  });
  const world = makeWorld(claudeEnv(model));
  const repo = makeRepo(world.dir, 'r');
  const slow = join(world.dir, 'slow.sh');
  writeFileSync(slow, '#!/bin/sh\nsleep 5\n', { mode: 0o755 });
  const spool = join(world.dir, 'spool'); mkdirSync(spool);
  const rec = join(world.dir, 'rec.sh');
  writeFileSync(rec, `#!/bin/sh\ncat > ${spool}/$(date +%s%N).json\n`, { mode: 0o755 });
  const cases: Record<string, unknown> = {
    missingDefault: { PreToolUse: [{ hooks: [{ type: 'command', command: '/nonexistent/gate', args: ['a'] }] }] },
    missingBlock: { PreToolUse: [{ hooks: [{ type: 'command', command: '/nonexistent/gate', args: ['a'], onFailure: 'block' }] }] },
    timeoutBlock: { PreToolUse: [{ hooks: [{ type: 'command', command: slow, args: [], timeout: 1, onFailure: 'block' }] }] },
    timeoutDefault: { PreToolUse: [{ hooks: [{ type: 'command', command: slow, args: [], timeout: 1 }] }] },
    exit1Block: { PreToolUse: [{ hooks: [{ type: 'command', command: '/bin/false', args: [], onFailure: 'block' }] }] },
    badJsonBlock: { PreToolUse: [{ hooks: [{ type: 'command', command: '/bin/echo', args: ['{not json'], onFailure: 'block' }] }] },
    okExecBlock: { PreToolUse: [{ hooks: [{ type: 'command', command: '/bin/true', args: [], onFailure: 'block' }] }] },
    asyncPost: { PostToolUse: [{ hooks: [{ type: 'command', command: rec, args: [], async: true }] }] },
  };
  for (const [name, hooks] of Object.entries(cases)) {
    rmSync(join(repo, 'ran.txt'), { force: true });
    const file = join(world.dir, `${name}.json`);
    writeFileSync(file, JSON.stringify({ hooks }));
    const r = await runAsync(CLAUDE_BIN, ['-p', '--output-format', 'json', '--permission-mode', 'acceptEdits', '--settings', file, '--allowedTools', 'Bash', '--', 'go'], { cwd: repo, env: world.env as NodeJS.ProcessEnv, encoding: 'utf8', timeout: 45_000 });
    require_append(`  rc=${r.status} sig=${r.signal} err=${String(r.error)}`);
    let result = '';
    try { result = JSON.parse(r.stdout).result; } catch { result = r.stdout.slice(0, 200) + r.stderr.slice(0, 300); }
    require_append(`CASE ${name}: ran=${existsSync(join(repo, 'ran.txt'))} spool=${readdirSync(spool).length} result=${String(result).slice(0, 250).replace(/\n/g, ' ')}`);
  }
  await world.close(); await model.close();
}, 300_000);
