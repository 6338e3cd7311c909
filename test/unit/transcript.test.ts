import { appendFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { emptySummary, readTranscript } from '../../src/adapters/transcript.js';
import { tempDir } from '../helpers/fixtures.js';

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const line = (record: unknown) => `${JSON.stringify(record)}\n`;
const assistant = (requestId: string, content: unknown[], usage: Record<string, number>, extra: Record<string, unknown> = {}) =>
  line({ type: 'assistant', requestId, timestamp: '2026-11-21T10:00:00Z', message: { id: `msg_${requestId}`, model: 'claude-sonnet-4-5', role: 'assistant', content, usage }, ...extra });

describe('incremental transcript reading', () => {
  it('folds turns, skips unknown records, counts usage once per request, and resumes after a half-written line', () => {
    const path = join(dir, 'session.jsonl');
    writeFileSync(
      path,
      line({ type: 'queue-operation', operation: 'enqueue' }) +
        line({ type: 'user', timestamp: '2026-11-21T09:59:59Z', message: { role: 'user', content: 'Fix the bug' } }) +
        line({ type: 'api-request-blob', blob: 'x'.repeat(5000) }) +
        // One API response written as three lines sharing a request id: the last one counts.
        assistant('req_1', [{ type: 'text', text: 'Looking.' }], { input_tokens: 100, output_tokens: 1 }) +
        assistant('req_1', [{ type: 'tool_use', id: 'tu_1', name: 'Edit', input: { file_path: '/w/a.ts', old_string: 'a', new_string: 'b' } }], { input_tokens: 100, output_tokens: 20 }) +
        assistant('req_1', [{ type: 'tool_use', id: 'tu_2', name: 'Bash', input: { command: 'npm test' } }], { input_tokens: 100, output_tokens: 40, cache_read_input_tokens: 7 }) +
        line({ type: 'user', message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'tu_2', is_error: true, content: 'tests failed' }] } }) +
        line({ type: 'cost-state', totalCostUSD: 1 }) +
        '{"type":"assistant","requestId":"req_2","message":{"content":[{"type":"text","text":"half',
    );
    const summary = emptySummary();
    const first = readTranscript(path, 0, summary);
    expect(first.continued).toBe(true);
    expect(summary.lastAssistantText).toBe('Looking.');
    expect(summary.editedFiles).toEqual(['/w/a.ts']);
    expect(summary.recentToolCalls.map((call) => `${call.name}:${call.summary}`)).toEqual(['Edit:/w/a.ts', 'Bash:npm test']);
    expect(summary.errors).toEqual([{ at: null, text: 'tests failed' }]);
    expect([...first.usage.values()]).toEqual([
      { requestId: 'req_1', model: 'claude-sonnet-4-5', sidechain: false, inputTokens: 100, outputTokens: 40, cacheCreationTokens: 0, cacheReadTokens: 7 },
    ]);
    // The half-written line was not consumed: the offset stops before it.
    expect(first.offset).toBeLessThan(first.size);

    appendFileSync(path, ' done"}],"usage":{"input_tokens":5,"output_tokens":6}}}\n' + assistant('req_3', [{ type: 'text', text: 'Sidechain note' }], { input_tokens: 1, output_tokens: 1 }, { isSidechain: true }));
    const second = readTranscript(path, first.offset, summary);
    expect(second.offset).toBe(second.size);
    expect(summary.lastAssistantText).toBe('half done');
    expect([...second.usage.keys()]).toEqual(['req_2', 'req_3']);
    expect(second.usage.get('req_3')!.sidechain).toBe(true);
  });

  it('notices a rewritten file and survives a damaged line', () => {
    const path = join(dir, 'rewritten.jsonl');
    writeFileSync(path, `{"type":"user", not json\n${assistant('r', [{ type: 'text', text: 'after damage' }], { input_tokens: 1, output_tokens: 1 })}`);
    const summary = emptySummary();
    const result = readTranscript(path, 0, summary);
    expect(summary.lastAssistantText).toBe('after damage');
    writeFileSync(path, line({ type: 'user', message: { content: 'short' } }));
    expect(readTranscript(path, result.offset, emptySummary()).continued).toBe(false);
  });
});

describe('the byte-level prefilter', () => {
  const prompt = (text: string) => line({ type: 'user', timestamp: '2026-11-21T09:00:00Z', message: { role: 'user', content: text } });
  const toolResult = (id: string, isError: boolean, at: string) =>
    line({ type: 'user', message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: id, is_error: isError, content: `result of ${id}` }] }, timestamp: at, toolUseResult: { stdout: 'x'.repeat(300) } });

  it('parses a record that only looks relevant and skips it by its real type', () => {
    const path = join(dir, 'lookalike.jsonl');
    writeFileSync(
      path,
      // A progress record carrying a nested assistant message: the needle matches, the parsed type does not.
      line({ type: 'progress', timestamp: '2026-11-21T09:00:00Z', data: { message: { type: 'assistant', requestId: 'nested', message: { id: 'nested', content: [{ type: 'text', text: 'not mine' }], usage: { input_tokens: 9, output_tokens: 9 } } } } }) +
        // The needle inside a string is escaped, so this is not even parsed.
        line({ type: 'attachment', text: '"type":"assistant" and "type":"user"' }) +
        assistant('r1', [{ type: 'text', text: 'mine' }], { input_tokens: 1, output_tokens: 2 }),
    );
    const summary = emptySummary();
    const result = readTranscript(path, 0, summary);
    expect(summary.records).toBe(3);
    expect(result.parsedLines).toBe(2);
    expect(summary.lastAssistantText).toBe('mine');
    expect([...result.usage.keys()]).toEqual(['r1']);
  });

  it('skips successful tool results without parsing them but keeps their time, and parses failed ones and prompts', () => {
    const path = join(dir, 'tool-results.jsonl');
    writeFileSync(path, prompt('Run it') + toolResult('tu_1', false, '2026-11-21T09:00:01Z') + toolResult('tu_2', true, '2026-11-21T09:00:02Z') + toolResult('tu_3', false, '2026-11-21T09:00:03.123Z'));
    const summary = emptySummary();
    const result = readTranscript(path, 0, summary);
    expect(result.parsedLines).toBe(2);
    expect(summary.records).toBe(4);
    expect(summary.lastRecordAt).toBe('2026-11-21T09:00:03.123Z');
    expect(summary.errors).toEqual([{ at: '2026-11-21T09:00:02Z', text: 'result of tu_2' }]);
    expect(summary.recentLines).toEqual([{ at: '2026-11-21T09:00:00Z', role: 'user', text: 'Run it' }]);
  });

  it('gives the same answer at every chunk size: lines, usage and multi-byte text split across chunk boundaries', () => {
    const path = join(dir, 'chunks.jsonl');
    const text = 'ünïcödé 漢字 — … 🎉 '.repeat(20);
    writeFileSync(
      path,
      prompt(`Fix ${text}`) +
        line({ type: 'api-request-blob', blob: 'y'.repeat(700) }) +
        assistant('r1', [{ type: 'text', text }], { input_tokens: 10, output_tokens: 1 }) +
        assistant('r1', [{ type: 'tool_use', id: 'tu', name: 'Write', input: { file_path: '/w/漢字.ts', content: text } }], { input_tokens: 10, output_tokens: 30, cache_creation_input_tokens: 5 }) +
        toolResult('tu', false, '2026-11-21T09:00:05Z') +
        assistant('r2', [{ type: 'text', text: `done ${text}` }], { input_tokens: 20, output_tokens: 4 }) +
        '{"type":"assistant","requestId":"r3","message":{"usage":{"input_tokens":1',
    );
    const reference = emptySummary();
    const expected = readTranscript(path, 0, reference, 1 << 20);
    expect(reference.lastAssistantText).toBe(`done ${text}`);
    expect(reference.editedFiles).toEqual(['/w/漢字.ts']);
    expect(expected.usage.get('r1')).toMatchObject({ inputTokens: 10, outputTokens: 30, cacheCreationTokens: 5 });
    for (const chunk of [1, 2, 3, 7, 16, 61, 64, 255, 1000, 4096]) {
      const summary = emptySummary();
      const result = readTranscript(path, 0, summary, chunk);
      expect({ chunk, summary, offset: result.offset, usage: [...result.usage.values()] }).toEqual({ chunk, summary: reference, offset: expected.offset, usage: [...expected.usage.values()] });
    }
    // The half-written last line waits: the offset stops before it, at every chunk size.
    expect(expected.offset).toBeLessThan(expected.size);
  });
});
