import { describe, expect, it } from 'vitest';
import { highlightLine, languageOf, parseDiff } from '../../src/dashboard/index.js';
import { fleetPage } from '../../src/dashboard/views.js';
import type { QueuedSpawn } from '../../src/fleet/index.js';

describe('the diff highlighter', () => {
  it('marks keywords, strings, numbers and comments, and escapes everything else', () => {
    expect(highlightLine(`const greeting = "<b>hi</b>"; // say 'hi'`, 'ts')).toBe(
      `<span class="tok-kw">const</span> greeting = <span class="tok-str">&quot;&lt;b&gt;hi&lt;/b&gt;&quot;</span>; <span class="tok-com">// say &#39;hi&#39;</span>`,
    );
    expect(highlightLine('x = 0x1F + 42', 'py')).toBe('x = <span class="tok-num">0x1F</span> + <span class="tok-num">42</span>');
    expect(highlightLine('echo "$#" # count', 'sh')).toBe('<span class="tok-kw">echo</span> <span class="tok-str">&quot;$#&quot;</span> <span class="tok-com"># count</span>');
    expect(highlightLine('a /* b */ c', 'c')).toBe('a <span class="tok-com">/* b */</span> c');
  });

  it('leaves unknown languages as escaped plain text, and an unclosed string ends with the line', () => {
    expect(highlightLine('<script>if</script>', undefined)).toBe('&lt;script&gt;if&lt;/script&gt;');
    expect(highlightLine('s = "open', 'js')).toBe('s = <span class="tok-str">&quot;open</span>');
  });

  it('knows languages by extension and by well-known names', () => {
    expect([languageOf('src/a.tsx'), languageOf('x/Makefile'), languageOf('notes.txt'), languageOf('a.PY')]).toEqual(['ts', 'sh', undefined, 'py']);
  });
});

describe('parseDiff', () => {
  it('splits git diff output into files with their status and counts', () => {
    const text = [
      'diff --git a/src/app.ts b/src/app.ts',
      'index 1111111..2222222 100644',
      '--- a/src/app.ts',
      '+++ b/src/app.ts',
      '@@ -1,2 +1,2 @@',
      ' keep',
      '-old',
      '+new',
      'diff --git a/added.md b/added.md',
      'new file mode 100644',
      '--- /dev/null',
      '+++ b/added.md',
      '@@ -0,0 +1 @@',
      '+# title',
      'diff --git a/logo.png b/logo.png',
      'Binary files a/logo.png and b/logo.png differ',
      '',
    ].join('\n');
    expect(parseDiff(text)).toEqual([
      { path: 'src/app.ts', status: 'modified', lines: ['@@ -1,2 +1,2 @@', ' keep', '-old', '+new'], additions: 1, deletions: 1 },
      { path: 'added.md', status: 'added', lines: ['@@ -0,0 +1 @@', '+# title'], additions: 1, deletions: 0 },
      { path: 'logo.png', status: 'binary', lines: [], additions: 0, deletions: 0 },
    ]);
  });
});

describe('the fleet page', () => {
  it('lists queued spawns in order with what they wait for and why, escaped', () => {
    const queued: QueuedSpawn[] = [
      { queueId: 7, id: 'ag_1', name: 'second', repo: '/r', branch: 'agent/second', state: 'queued', position: 1, after: ['first'], baseAfter: false, reason: 'waits for first to finish', createdAt: '2026-11-30T01:00:00.000Z', taskPreview: 'fix <the> bug' },
      { queueId: 8, id: 'ag_2', name: 'third', repo: '/r', branch: 'agent/third', state: 'failed', position: null, after: [], baseAfter: false, reason: 'the base is gone', createdAt: '2026-11-30T01:01:00.000Z', taskPreview: 't' },
    ];
    const page = String(fleetPage([], () => undefined, queued));
    expect(page).toContain('<h2>Queued</h2>');
    expect(page).not.toContain('No agents yet');
    const rows = [...page.matchAll(/<tr data-name="([^"]+)"><td>([^<]+)<\/td>/g)].map((match) => [match[1], match[2]]);
    expect(rows).toEqual([['second', '1'], ['third', '–']]);
    expect(page).toContain('fix &lt;the&gt; bug');
    expect(page).toContain('<span class="status st-failed">failed</span>');
    expect(page).toContain('<td>first</td><td>waits for first to finish</td>');
    expect(String(fleetPage([], () => undefined, []))).not.toContain('Queued');
  });
});
