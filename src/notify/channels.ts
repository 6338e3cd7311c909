/** execa, loaded on the first notice sent: the server starts without it. */
const execaModule = () => import('execa');
import { findExecutable } from '../adapters/process.js';
import { Tmux } from '../adapters/tmux.js';
import type { Notice } from './notices.js';

/** One way of telling a human; each throws on failure and the notifier logs it. */
export interface Channel {
  name: string;
  send: (notice: Notice) => Promise<void>;
}

const TIMEOUT_MS = 5_000;

/** notify-send (libnotify), when it is on PATH. */
export function desktopChannel(env: Record<string, string | undefined>): Channel | undefined {
  const binary = findExecutable('notify-send', env.PATH);
  if (!binary) return undefined;
  return {
    name: 'desktop',
    send: async (notice) => {
      const { execa } = await execaModule();
      await execa(binary, ['--app-name=ringmaster', `--urgency=${notice.urgent ? 'critical' : 'normal'}`, notice.title, notice.message], { timeout: TIMEOUT_MS, env, extendEnv: false });
    },
  };
}

/** A status-line message and a bell for every client attached to the agents' tmux server. */
export function tmuxChannel(command: string, socket: string | null): Channel {
  return {
    name: 'tmux',
    send: async (notice) => {
      const socketArgs = Tmux.socketArgs(socket);
      const { execa } = await execaModule();
      const clients = await execa(command, [...socketArgs, 'list-clients', '-F', '#{client_name}\t#{client_tty}'], { timeout: TIMEOUT_MS, reject: false, env: { TMUX: undefined }, extendEnv: true });
      if (clients.exitCode !== 0) return; // no server, or nobody attached: nothing to show
      for (const line of clients.stdout.split('\n').filter(Boolean)) {
        const [client, tty] = line.split('\t');
        await execa(command, [...socketArgs, 'display-message', '-c', client!, `ringmaster: ${notice.title}`], { timeout: TIMEOUT_MS, reject: false, env: { TMUX: undefined }, extendEnv: true });
        if (tty) await import('node:fs').then((fs) => fs.promises.appendFile(tty, '\x07')).catch(() => undefined);
      }
    },
  };
}

/** A JSON POST; `text` makes Slack and Mattermost incoming webhooks show it as is. */
export function webhookChannel(url: string): Channel {
  return {
    name: 'webhook',
    send: async (notice) => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'ringmaster' },
        body: JSON.stringify({ text: `${notice.title}: ${notice.message}`, agent: notice.agent, agent_id: notice.agentId, kind: notice.kind, state: notice.state, title: notice.title, message: notice.message, since: notice.since, urgent: notice.urgent }),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      if (!response.ok) throw new Error(`webhook answered HTTP ${response.status}`);
    },
  };
}

/** ntfy (https://ntfy.sh or self-hosted): the message as the body, the title and priority as headers. */
export function ntfyChannel(url: string): Channel {
  return {
    name: 'ntfy',
    send: async (notice) => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { Title: asciiHeader(notice.title), Priority: notice.urgent ? 'high' : 'default', Tags: notice.kind === 'failed' ? 'warning' : 'robot' },
        body: notice.message,
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      if (!response.ok) throw new Error(`ntfy answered HTTP ${response.status}`);
    },
  };
}

/** HTTP header values must be Latin-1; agent names are ASCII already, reasons may not be. */
function asciiHeader(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?');
}
