/**
 * The configuration table of docs/deploy.md, generated from the declarations (`npm run docs:config`;
 * test/jobs/config.spec.ts fails when the committed table differs).
 */
import type { ProcessName } from './env';
import { CONFIG_VARS } from './load';

export const CONFIG_TABLE_START =
  '<!-- config-table:start (generated from libs/jobs/src/config/sections.ts by `npm run docs:config`; edit there) -->';
export const CONFIG_TABLE_END = '<!-- config-table:end -->';

/** How the docs' "used by" column names each process. */
const PROCESS_LABELS: Record<ProcessName, string> = {
  api: 'API',
  launcher: 'launcher',
  worker: 'workers',
  aggregator: 'aggregator',
  stack: '`npm start`',
  cli: 'CLI',
  harness: 'tests, bench',
};

/** A table cell: pipes escaped, no line breaks. */
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');

/** The Markdown table: variable, its section of the configuration, default, type, which processes read it, what it does. */
export function configTable(vars: typeof CONFIG_VARS = CONFIG_VARS): string {
  const rows = vars.map((v) => {
    const fallback = v.default !== undefined ? `\`${v.default}\`` : (v.unset ?? '—');
    const usedBy = v.readers.map((p) => PROCESS_LABELS[p]).join(', ');
    return `| \`${v.name}\` | ${v.section} | ${cell(fallback)} | ${cell(v.type.label)} | ${usedBy} | ${cell(v.doc)} |`;
  });
  return ['| variable | section | default | type | used by | what it does |', '|---|---|---|---|---|---|', ...rows].join('\n');
}

/** `doc` with the text between the markers replaced by the generated table; throws when a marker is missing. */
export function withConfigTable(doc: string, vars: typeof CONFIG_VARS = CONFIG_VARS): string {
  const start = doc.indexOf(CONFIG_TABLE_START);
  const end = doc.indexOf(CONFIG_TABLE_END);
  if (start < 0 || end < start)
    throw new Error(`docs/deploy.md: the markers ${CONFIG_TABLE_START} and ${CONFIG_TABLE_END} must enclose the configuration table`);
  return `${doc.slice(0, start + CONFIG_TABLE_START.length)}\n${configTable(vars)}\n${doc.slice(end)}`;
}
