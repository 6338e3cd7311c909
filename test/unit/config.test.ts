import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { tempDir } from '../helpers/fixtures.js';

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('config', () => {
  it('defaults RINGMASTER_HOME to ~/.ringmaster and the default tmux server', () => {
    const config = loadConfig({ HOME: '/home/someone' });
    expect(config.home).toBe('/home/someone/.ringmaster');
    expect(config.worktreeRoot).toBe('/home/someone/.ringmaster/worktrees');
    expect(config.tmux).toEqual({ command: 'tmux' });
    expect(config.agents.claude).toBe('claude');
    expect(config.http.port).toBe(7411);
  });

  it('reads the config file, and environment variables win over it', () => {
    const home = join(dir, 'file');
    mkdirSync(home);
    writeFileSync(join(home, 'config.json'), JSON.stringify({ tmux: { socket: 'from-file' }, http: { port: 9000 }, claude: { permissionMode: 'plan' } }));
    const config = loadConfig({ HOME: dir, RINGMASTER_HOME: home, RINGMASTER_PORT: '9100' });
    expect(config.tmux.socket).toBe('from-file');
    expect(config.http.port).toBe(9100);
    expect(config.claude.permissionMode).toBe('plan');
    expect(loadConfig({ HOME: dir, RINGMASTER_HOME: home, RINGMASTER_TMUX_SOCKET: 'from-env' }).tmux.socket).toBe('from-env');
  });

  it('rejects unknown keys, bad values and broken JSON with the file named', () => {
    const home = join(dir, 'bad');
    mkdirSync(home);
    writeFileSync(join(home, 'config.json'), JSON.stringify({ tmux: { sockett: 'typo' } }));
    expect(() => loadConfig({ HOME: dir, RINGMASTER_HOME: home })).toThrow(/Invalid ringmaster configuration .*tmux: Unrecognized key.*sockett/);
    writeFileSync(join(home, 'config.json'), '{ not json');
    expect(() => loadConfig({ HOME: dir, RINGMASTER_HOME: home })).toThrow(/config\.json is not valid JSON/);
    expect(() => loadConfig({ HOME: dir, RINGMASTER_HOME: join(dir, 'none'), RINGMASTER_PORT: 'eighty' })).toThrow(/RINGMASTER_PORT=eighty is not a whole number/);
    expect(() => loadConfig({ HOME: dir, RINGMASTER_HOME: join(dir, 'none'), RINGMASTER_CHILD_PERMISSION_MODE: 'yolo' })).toThrow(/claude\.permissionMode/);
  });
});
