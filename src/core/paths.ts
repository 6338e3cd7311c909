import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedRoot: string | undefined;

/** The ringmaster package folder, found the same way from src/ (tests) and dist/ (built). */
export function packageRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'ringmaster') {
      cachedRoot = dir;
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the ringmaster package folder');
    dir = parent;
  }
}

/** Text of a file in prompts/, with {{placeholders}} filled in. */
export function renderPrompt(file: string, values: Record<string, string> = {}): string {
  const template = readFileSync(join(packageRoot(), 'prompts', file), 'utf8');
  return template.replace(/\{\{(\w+)\}\}/g, (match, key: string) => values[key] ?? match);
}
