import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SubscribeRequestSchema, UnsubscribeRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { Context } from '../core/index.js';
import type { Monitor, StatusChange } from '../fleet/index.js';
import { agentStatus, agentStatuses, findLiveAgent } from '../state/index.js';
import { AGENT_TEMPLATE, AGENTS_RESOURCE, AGENTS_URI, agentListEntry, agentUri, statusLogMessage } from './resource-shapes.js';

/**
 * `ringmaster://agents` and `ringmaster://agents/{name}`: live status as JSON,
 * with subscriptions. The monitor's status changes become resources/updated
 * notifications for subscribers and log messages for everyone.
 */
export function registerResources(server: McpServer, context: Context, monitor: Monitor): void {
  server.registerResource(
    'agents',
    AGENTS_URI,
    AGENTS_RESOURCE,
    async (uri) => {
      const records = context.store.listAgents();
      const statuses = await agentStatuses(context, records);
      const agents = records.map((record) => ({ name: record.name, id: record.id, branch: record.branch, worktree_path: record.worktreePath, status: statuses.get(record.id) }));
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify({ agents }, null, 2) }] };
    },
  );
  server.registerResource(
    'agent',
    new ResourceTemplate(`${AGENTS_URI}/{name}`, {
      list: async () => ({ resources: context.store.listAgents().map(agentListEntry) }),
    }),
    AGENT_TEMPLATE,
    async (uri, variables) => {
      const record = findLiveAgent(context, decodeURIComponent(String(variables.name)));
      const status = await agentStatus(context, record);
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify({ name: record.name, id: record.id, branch: record.branch, status }, null, 2) }] };
    },
  );

  const subscribed = new Set<string>();
  server.server.registerCapabilities({ resources: { subscribe: true, listChanged: true } });
  server.server.setRequestHandler(SubscribeRequestSchema, async (request) => {
    subscribed.add(request.params.uri);
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
    subscribed.delete(request.params.uri);
    return {};
  });

  const onChange = (change: StatusChange) => {
    if (!server.isConnected()) return;
    for (const uri of [AGENTS_URI, agentUri(change.name)]) {
      if (subscribed.has(uri)) server.server.sendResourceUpdated({ uri }).catch(() => undefined);
    }
    const message = statusLogMessage(change);
    if (message) server.sendLoggingMessage(message).catch(() => undefined);
  };
  monitor.on('change', onChange);
  const previousOnClose = server.server.onclose;
  server.server.onclose = () => {
    monitor.off('change', onChange);
    previousOnClose?.();
  };
}
