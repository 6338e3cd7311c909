import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { controlDirFor, SshHost } from '../../src/hosts/ssh.js';
import { tempDir } from '../helpers/fixtures.js';

function configWith(file: unknown, env: Record<string, string> = {}) {
  const home = tempDir('hosts-config-');
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, 'config.json'), JSON.stringify(file));
  return () => loadConfig({ HOME: home, RINGMASTER_HOME: home, ...env });
}

describe('hosts in the config', () => {
  it('takes a host in one line, with defaults for the rest', () => {
    const config = configWith({ hosts: { box: { destination: 'me@box.lan' } } })();
    expect(config.hosts.box).toEqual({ destination: 'me@box.lan', maxAgents: 8, ringmaster: 'ringmaster' });
    expect(config.placement.localMaxAgents).toBe(8);
    expect(config.ssh).toEqual({ command: 'ssh', connectTimeoutSec: 5 });
  });

  it('names what is wrong with a host entry', () => {
    expect(configWith({ hosts: { 'bad name': { destination: 'x' } } })).toThrow(/hosts\.bad name: a host name is 1-40 of A-Z a-z 0-9 - _/);
    expect(configWith({ hosts: { box: {} } })).toThrow(/hosts\.box\.destination/);
    expect(configWith({ hosts: { box: { destination: 'x', keyFile: '~/.ssh/id' } } })).toThrow(/Unrecognized key.*keyFile/);
  });

  it("uses the user's own ssh config unless one is given, and one shared connection under RINGMASTER_HOME", () => {
    const load = configWith({ hosts: { box: { destination: 'me@box.lan' } } }, { RINGMASTER_SSH_CONFIG: '/tmp/test-ssh-config' });
    const config = load();
    const args = new SshHost('box', config.hosts.box!, config).sshArgs();
    expect(args.slice(0, 2)).toEqual(['-F', '/tmp/test-ssh-config']);
    expect(args).toContain(`ControlPath=${join(controlDirFor(config.home), '%C')}`);
    expect(controlDirFor('/home/me/.ringmaster')).toBe('/home/me/.ringmaster/ssh');
    expect(controlDirFor(`/home/${'x'.repeat(80)}/.ringmaster`)).toMatch(/^\/.*ringmaster-ssh-\d+-[0-9a-f]{12}$/);
    expect(args).toContain('ControlMaster=auto');
    expect(args).toContain('BatchMode=yes');
    const own = configWith({ hosts: { box: { destination: 'me@box.lan' } } })();
    expect(new SshHost('box', own.hosts.box!, own).sshArgs()).not.toContain('-F');
    expect(() => SshHost.of(own, 'nowhere')).toThrow(/No host named "nowhere".*hosts: box/);
  });
});
