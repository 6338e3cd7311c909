import { describe, expect, it } from 'vitest';
import { classifyCommand, classifyToolCall, type FindingCategory } from '../../src/gate/classify.js';
import { context, CORPUS } from '../fixtures/classify-corpus.js';

const GATED: FindingCategory[] = ['aws', 'slack', 'protected_push', 'terraform', 'database', 'self_approval', 'obfuscated'];

describe('command classification corpus', () => {
  it('has at least 150 commands', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(150);
  });

  it.each(CORPUS)('%s', (command, expected) => {
    const categories = [...new Set(classifyCommand(command, context).map((finding) => finding.category))].sort();
    expect(categories).toEqual([...expected].sort());
  });

  it('catches every gated command (recall 1.0 in every category) and prints precision and recall', () => {
    const rows = GATED.map((category) => {
      let truePositives = 0;
      let falsePositives = 0;
      let falseNegatives = 0;
      for (const [command, expected] of CORPUS) {
        const got = classifyCommand(command, context).some((finding) => finding.category === category);
        const want = expected.includes(category);
        if (got && want) truePositives++;
        else if (got) falsePositives++;
        else if (want) falseNegatives++;
      }
      const precision = truePositives + falsePositives === 0 ? 1 : truePositives / (truePositives + falsePositives);
      const recall = truePositives + falseNegatives === 0 ? 1 : truePositives / (truePositives + falseNegatives);
      return { category, cases: truePositives + falseNegatives, precision: Number(precision.toFixed(3)), recall: Number(recall.toFixed(3)) };
    });
    console.table(rows);
    for (const row of rows) expect(row.recall, row.category).toBe(1);
  });
});

describe('non-Bash tools', () => {
  it('gates Slack MCP tools, web fetches to Slack, writes into ringmaster, and a child calling request_permission', () => {
    const categories = (tool: string, input: Record<string, unknown>) => classifyToolCall(tool, input, context).map((finding) => finding.category);
    expect(categories('mcp__slack__post_message', { channel: '#ops', text: 'hi' })).toEqual(['slack']);
    expect(categories('mcp__claude_ai_Slack__send', {})).toEqual(['slack']);
    expect(categories('WebFetch', { url: 'https://hooks.slack.com/services/x', prompt: 'post' })).toEqual(['slack']);
    expect(categories('Write', { file_path: '/home/u/.ringmaster/policy.json', content: '{}' })).toEqual(['self_approval']);
    expect(categories('Edit', { file_path: '/w/agent/src/a.ts', old_string: 'a', new_string: 'b' })).toEqual([]);
    expect(categories('mcp__ringmaster__request_permission', { request_id: 'pr_1', decision: 'approve' })).toEqual(['self_approval']);
    expect(categories('Read', { file_path: '/home/u/.ringmaster/state.db' })).toEqual([]);
    expect(categories('Write', { file_path: '/home/u/.ringmaster/worktrees/app/a/src/x.ts', content: '' })).toEqual([]);
    // Writing a file that mentions a webhook sends nothing: only running things is gated.
    expect(categories('Write', { file_path: '/w/agent/src/notify.ts', content: 'await fetch("https://hooks.slack.com/services/T/B/C", { method: "POST" })' })).toEqual([]);
    expect(categories('Edit', { file_path: '/w/agent/README.md', old_string: 'x', new_string: 'Webhook: https://hooks.slack.com/services/T/B/C' })).toEqual([]);
    expect(categories('Grep', { pattern: 'hooks\\.slack\\.com', path: '/w/agent' })).toEqual([]);
    expect(categories('mcp__fetch__post', { url: 'https://hooks.slack.com/services/T/B/C' })).toEqual(['slack']);
  });
});
