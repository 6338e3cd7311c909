import { escape } from './html.js';

/**
 * A small line-at-a-time syntax highlighter for diffs: comments, strings,
 * numbers and keywords, by file extension. A diff shows fragments, so no
 * state is carried across lines; what it cannot tell stays plain text.
 */

interface Language {
  keywords: ReadonlySet<string>;
  /** Line comment starts. */
  line: string[];
  /** Block comment delimiters, matched within a line. */
  block?: [string, string];
}

const words = (text: string) => new Set(text.split(/\s+/).filter(Boolean));

const C_LIKE = 'break case catch class const continue default do else enum export extends false finally for if import in new null return static super switch this throw true try void while';
const LANGUAGES: Record<string, Language> = {
  js: { keywords: words(`${C_LIKE} async await let var function of typeof instanceof undefined yield delete from as`), line: ['//'], block: ['/*', '*/'] },
  ts: {
    keywords: words(`${C_LIKE} async await let var function of typeof instanceof undefined yield delete from as interface type implements private public protected readonly declare namespace keyof satisfies abstract`),
    line: ['//'],
    block: ['/*', '*/'],
  },
  py: { keywords: words('and as assert async await break class continue def del elif else except False finally for from global if import in is lambda None nonlocal not or pass raise return True try while with yield self'), line: ['#'] },
  sh: { keywords: words('if then else elif fi for while until do done case esac in function return local export readonly set unset shift exit echo printf source'), line: ['#'] },
  go: { keywords: words('break case chan const continue default defer else fallthrough for func go goto if import interface map package range return select struct switch type var nil true false'), line: ['//'], block: ['/*', '*/'] },
  rs: { keywords: words('as async await break const continue crate dyn else enum extern false fn for if impl in let loop match mod move mut pub ref return self Self static struct super trait true type unsafe use where while None Some Ok Err'), line: ['//'], block: ['/*', '*/'] },
  c: { keywords: words(`${C_LIKE} int char long short unsigned signed float double struct union typedef sizeof auto bool nullptr template typename namespace using public private protected virtual include define`), line: ['//'], block: ['/*', '*/'] },
  java: { keywords: words(`${C_LIKE} int long boolean char byte float double final abstract interface implements package private protected public synchronized throws var`), line: ['//'], block: ['/*', '*/'] },
  rb: { keywords: words('alias and begin break case class def defined do else elsif end ensure false for if in module next nil not or redo rescue retry return self super then true undef unless until when while yield require'), line: ['#'] },
  yaml: { keywords: words('true false null yes no on off'), line: ['#'] },
  css: { keywords: words('important media import from to'), line: [], block: ['/*', '*/'] },
  json: { keywords: words('true false null'), line: [] },
};

const EXTENSIONS: Record<string, string> = {
  js: 'js', mjs: 'js', cjs: 'js', jsx: 'js', ts: 'ts', tsx: 'ts', mts: 'ts', cts: 'ts',
  py: 'py', sh: 'sh', bash: 'sh', zsh: 'sh', go: 'go', rs: 'rs',
  c: 'c', h: 'c', cc: 'c', cpp: 'c', hpp: 'c', java: 'java', kt: 'java', cs: 'java', swift: 'java',
  rb: 'rb', yml: 'yaml', yaml: 'yaml', toml: 'yaml', css: 'css', scss: 'css', json: 'json',
};

/** The language of a file by its extension (or a Dockerfile/Makefile-like name), or undefined for plain text. */
export function languageOf(path: string): string | undefined {
  const name = path.split('/').pop() ?? '';
  if (/^(Makefile|Dockerfile|\.bashrc|\.profile)$/.test(name)) return 'sh';
  const extension = /\.([A-Za-z0-9]+)$/.exec(name)?.[1]?.toLowerCase();
  return extension ? EXTENSIONS[extension] : undefined;
}

const span = (kind: string, text: string) => `<span class="tok-${kind}">${escape(text)}</span>`;

/** One line of code as escaped HTML with token spans. */
export function highlightLine(line: string, language: string | undefined): string {
  const spec = language ? LANGUAGES[language] : undefined;
  if (!spec) return escape(line);
  let out = '';
  let plain = '';
  const flush = () => {
    out += plain.replace(/[A-Za-z_$][\w$]*|0x[\da-fA-F]+|\d[\d_]*(?:\.\d+)?(?:e[+-]?\d+)?|[^A-Za-z_$\d]+/g, (token) => {
      if (spec.keywords.has(token)) return span('kw', token);
      if (/^\d|^0x/.test(token)) return span('num', token);
      return escape(token);
    });
    plain = '';
  };
  let index = 0;
  while (index < line.length) {
    const rest = line.slice(index);
    const lineComment = spec.line.find((start) => rest.startsWith(start) && (start !== '#' || index === 0 || /\s/.test(line[index - 1]!)));
    if (lineComment) {
      flush();
      out += span('com', rest);
      return out;
    }
    if (spec.block && rest.startsWith(spec.block[0])) {
      const end = rest.indexOf(spec.block[1], spec.block[0].length);
      const length = end === -1 ? rest.length : end + spec.block[1].length;
      flush();
      out += span('com', rest.slice(0, length));
      index += length;
      continue;
    }
    const quote = rest[0];
    if (quote === '"' || quote === "'" || quote === '`') {
      let end = 1;
      while (end < rest.length && rest[end] !== quote) end += rest[end] === '\\' ? 2 : 1;
      const length = Math.min(end + 1, rest.length);
      flush();
      out += span('str', rest.slice(0, length));
      index += length;
      continue;
    }
    plain += quote;
    index++;
  }
  flush();
  return out;
}
