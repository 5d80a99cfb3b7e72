/**
 * Every repository path that a comment or a document cites exists.
 *
 * Where citations are read: the comments of the TypeScript and JavaScript sources (found by the
 * TypeScript parser, so `//` inside a string or a URL is no comment), `#` comments of shell,
 * Python, YAML and Dockerfiles, `--` comments of the Lua scripts, and the whole text of every
 * Markdown file. Files written by others (onnx.proto) are left out.
 *
 * What counts as a cited path, in a word of that text (split at spaces, quotes, backticks,
 * brackets and commas; trailing punctuation and a `:line` suffix dropped):
 * - a name with a source or document extension (`.ts .js .mjs .cjs .md .lua .sh .py .proto .yaml
 *   .yml`), with or without directories: `keys.ts`, `store/keys.ts`, `docs/deploy.md`;
 * - a path whose first directory is one of the repository's (`deploy/k8s/components/autoscaling`,
 *   `bench/results/full.json`), whatever it ends with.
 * Not paths: URLs, absolute and home paths (`/models/x`, `~/.cache/rerank`: places on a machine),
 * words with a placeholder, a glob or an ellipsis (`<id>`, `{2,4,8}`, `*`, `$VAR`, `...`), words
 * with a colon (Redis keys `rerank:job:<id>`, `host:port`, `cuda:0`), npm package names
 * (`@scope/name`) and files inside installed packages (`node_modules/...`), and product names that
 * end in .js (`Node.js`, `transformers.js`). A kubectl resource is written `deployment/<name>`:
 * `deploy/<name>` reads as this repository's deploy/ folder.
 *
 * A cited path exists when it names a file or directory from the repository root, from the citing
 * file's directory, or as the tail of a tracked path (`store/keys.ts` for libs/jobs/src/store/keys.ts);
 * `dist/...js` when its TypeScript source exists. Paths outside the repository are cited with their
 * place (`/work/shared/reference/onnx-contracts.md`) or their project's URL.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import * as ts from 'typescript';

const ROOT = join(__dirname, '..', '..');

/** Tracked files and new ones not ignored (what a commit of this tree would hold). */
const FILES = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' })
  .split('\n')
  .filter((f) => f && existsSync(join(ROOT, f)));
const FILE_SET = new Set(FILES);
const DIRS = new Set(
  FILES.flatMap((f) =>
    f
      .split('/')
      .slice(0, -1)
      .map((_, i, parts) => parts.slice(0, i + 1).join('/')),
  ),
);
const TOP_DIRS = new Set(FILES.filter((f) => f.includes('/')).map((f) => f.split('/')[0]));

/** Files by others, kept as they ship. */
const NOT_OURS = new Set(['libs/model-gen/src/onnx/onnx.proto']);
/** A file name (something before the dot) with a source or document extension. */
const SOURCE_FILE = /(^|\/)[\w-][\w.-]*\.(ts|js|mjs|cjs|md|lua|sh|py|proto|ya?ml)$/;
const PRODUCT_NAMES = new Set(['node.js', 'transformers.js']);

interface Citation {
  file: string;
  line: number;
  path: string;
}

/** The comments of a TypeScript or JavaScript file, each with the offset it starts at. */
function scriptComments(file: string, text: string): { offset: number; text: string }[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const seen = new Map<number, string>();
  const collect = (ranges: ts.CommentRange[] | undefined) => {
    for (const r of ranges ?? []) seen.set(r.pos, text.slice(r.pos, r.end));
  };
  const visit = (node: ts.Node) => {
    collect(ts.getLeadingCommentRanges(text, node.getFullStart()));
    collect(ts.getTrailingCommentRanges(text, node.getEnd()));
    node.getChildren(source).forEach(visit);
  };
  visit(source);
  return [...seen].map(([offset, comment]) => ({ offset, text: comment }));
}

/** Line comments introduced by `marker` (at a line start or after a space). */
function lineComments(text: string, marker: '#' | '--'): { offset: number; text: string }[] {
  const out: { offset: number; text: string }[] = [];
  const re = marker === '#' ? /(^|\s)#(.*)$/gm : /(^|\s)--(.*)$/gm;
  for (const m of text.matchAll(re)) out.push({ offset: m.index + m[1].length, text: m[2] });
  return out;
}

/** The parts of a file that may cite paths. */
function citingText(file: string, text: string): { offset: number; text: string }[] {
  if (file.endsWith('.md')) return [{ offset: 0, text }];
  if (/\.(ts|js|mjs|cjs)$/.test(file)) return scriptComments(file, text);
  if (file.endsWith('.lua')) return lineComments(text, '--');
  if (/\.(sh|py|ya?ml)$/.test(file) || /(^|\/)Dockerfile/.test(file) || file.startsWith('.')) return lineComments(text, '#');
  return [];
}

/** The word as a cited path, or null when it is not one. */
function asPath(word: string): string | null {
  const w = word.replace(/[.,:;!?]+$/, '').replace(/:\d+(-\d+)?$/, '');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(w) || w.startsWith('www.')) return null;
  if (/[*{}<>$…%\\=]/.test(w) || w.includes('...') || w.includes(':') || w.startsWith('@')) return null;
  if (w.startsWith('/') || w.startsWith('~') || w.startsWith('node_modules/')) return null;
  if (PRODUCT_NAMES.has(w.toLowerCase())) return null;
  const first = w.replace(/^(\.\.?\/)+/, '').split('/')[0];
  if (w.includes('/') && TOP_DIRS.has(first)) return w;
  return SOURCE_FILE.test(w) && /^[\w./-]+$/.test(w) ? w : null;
}

function exists(path: string, citingFile: string): boolean {
  const bare = path.replace(/\/$/, '');
  const candidates = [normalize(bare.replace(/^\.\//, '')), normalize(join(dirname(citingFile), bare))];
  if (candidates.some((c) => FILE_SET.has(c) || DIRS.has(c))) return true;
  if (bare.startsWith('dist/')) {
    const source = bare.slice('dist/'.length).replace(/\.js$/, '');
    return FILE_SET.has(`${source}.ts`) || FILE_SET.has(`${source}.js`);
  }
  if (bare.startsWith('../')) return false;
  const tail = `/${bare.replace(/^\.\//, '')}`;
  return FILES.some((f) => `/${f}`.endsWith(tail)) || [...DIRS].some((d) => `/${d}`.endsWith(tail));
}

function citations(file: string): Citation[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const out: Citation[] = [];
  for (const part of citingText(file, text)) {
    const withoutUrls = part.text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s)>\]`'"]+/gi, (url) => ' '.repeat(url.length));
    for (const m of withoutUrls.matchAll(/[^\s`'"()[\],|]+/g)) {
      const path = asPath(m[0]);
      if (path) out.push({ file, line: text.slice(0, part.offset + m.index).split('\n').length, path });
    }
  }
  return out;
}

describe('paths cited in comments and documents', () => {
  const cited = FILES.filter((f) => !NOT_OURS.has(f)).flatMap(citations);

  it('reads citations from every kind of file', () => {
    // The check sees what it should: a comment's path, a document's link, a Lua comment's name.
    const seen = (file: string, path: string) => cited.some((c) => c.file === file && c.path === path);
    expect([
      seen('libs/jobs/src/logger.ts', 'config/sections.ts'),
      seen('README.md', 'docs/deploy.md'),
      seen('ARCHITECTURE.md', 'libs/jobs/src/ports/scoring-queue.ts'),
    ]).toEqual([true, true, true]);
    expect(cited.length).toBeGreaterThan(500);
  });

  it('tells a path from a URL, a Redis key, a placeholder, a machine path and a product name', () => {
    const words: [string, string | null][] = [
      ['libs/jobs/src/store/keys.ts', 'libs/jobs/src/store/keys.ts'],
      ['store/keys.ts.', 'store/keys.ts'],
      ['apps/cli/', 'apps/cli/'],
      ['dist/apps/api/src/main.js', 'dist/apps/api/src/main.js'],
      ['deploy/k8s/components/autoscaling', 'deploy/k8s/components/autoscaling'],
      ['https://github.com/onnx/onnx/blob/main/onnx/onnx.proto', null],
      ['rerank:job:<id>', null],
      ['bench/results/<mode>.json', null],
      ['model_cr{2,4,8}.onnx', null],
      ['/models/x', null],
      ['~/.cache/rerank', null],
      ['@huggingface/tokenizers', null],
      ['Node.js', null],
      ['e.g.', null],
      ['1.17', null],
      ['.lua', null],
      ['dist/...js', null],
    ];
    expect(words.map(([word]) => [word, asPath(word)])).toEqual(words);
    expect([
      exists('store/keys.ts', 'README.md'),
      exists('dist/apps/api/src/main.js', 'README.md'),
      exists('onnx-contracts.md', 'libs/engine/src/runtime/graph-signature.ts'),
      exists('../docs/deploy.md', 'bench/README.md'),
      exists('../docs/missing.md', 'bench/README.md'),
    ]).toEqual([true, true, false, true, false]);
  });

  it('every cited path exists', () => {
    const missing = cited.filter((c) => !exists(c.path, c.file)).map((c) => `${c.file}:${c.line}: ${c.path}`);
    expect(missing).toEqual([]);
  });
});
