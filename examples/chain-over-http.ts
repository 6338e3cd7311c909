/**
 * Chains ringmaster's tools from a plain MCP client over Streamable HTTP:
 * spawn_agent -> list_agents -> cleanup_worktree.
 *
 *   ringmaster serve --http --port 7411        # prints the URL and a bearer token
 *   npm run build && node dist/examples/chain-over-http.js http://127.0.0.1:7411/mcp <token> /abs/path/to/repo
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

export async function chain(url: string, token: string, repo: string, agent = 'claude'): Promise<void> {
  const client = new Client({ name: 'ringmaster-example', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
  try {
    const spawned = await client.callTool(
      { name: 'spawn_agent', arguments: { repo, agent, name: 'example-agent', task: 'List the files in this repository and summarise what it does.' } },
      undefined,
      { onprogress: (progress) => console.log(`  … ${progress.message}`) },
    );
    if (spawned.isError) throw new Error(`spawn_agent failed: ${JSON.stringify(spawned.content)}`);
    const agentInfo = spawned.structuredContent as { name: string; branch: string; attach_command: string };
    console.log(`spawned ${agentInfo.name} on ${agentInfo.branch}; watch it with: ${agentInfo.attach_command}`);

    const listed = await client.callTool({ name: 'list_agents', arguments: {} });
    for (const entry of (listed.structuredContent as { agents: Array<{ name: string; process_alive: boolean }> }).agents) {
      console.log(`listed ${entry.name}: ${entry.process_alive ? 'running' : 'not running'}`);
    }

    const cleaned = await client.callTool({ name: 'cleanup_worktree', arguments: { name: agentInfo.name, delete_branch: true } });
    if (cleaned.isError) throw new Error(`cleanup_worktree failed: ${JSON.stringify(cleaned.content)}`);
    const summary = cleaned.structuredContent as { removed: string[]; kept: string[] };
    console.log(`cleaned up: removed ${summary.removed.join(', ')}${summary.kept.length ? `; kept ${summary.kept.join(', ')}` : ''}`);
  } finally {
    await client.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [url, token, repo, agent] = process.argv.slice(2);
  if (!url || !token || !repo) {
    console.error('usage: node dist/examples/chain-over-http.js <url> <token> <repo> [agent]');
    process.exit(2);
  }
  chain(url, token, repo, agent).catch((error: unknown) => {
    console.error((error as Error).message);
    process.exit(1);
  });
}
