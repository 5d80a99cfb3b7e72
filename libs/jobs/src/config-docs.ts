/**
 * The configuration table of docs/deploy.md, generated from `CONFIG_VARS` (`npm run docs:config`;
 * test/jobs/config-docs.spec.ts fails when the committed table differs).
 */
import { CONFIG_VARS } from './config';
import { type ConfigVar, PROCESS_LABELS } from './config-schema';

export const CONFIG_TABLE_START =
  '<!-- config-table:start (generated from libs/jobs/src/config.ts by `npm run docs:config`; edit there) -->';
export const CONFIG_TABLE_END = '<!-- config-table:end -->';

/** A table cell: pipes escaped, no line breaks. */
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');

/** The Markdown table of `vars`: variable, default, type, which processes read it, what it does. */
export function configTable(vars: readonly ConfigVar[] = CONFIG_VARS): string {
  const rows = vars.map((v) => {
    const fallback = v.default !== null ? `\`${v.default}\`` : (v.unset ?? '—');
    const usedBy = v.processes.map((p) => PROCESS_LABELS[p]).join(', ');
    return `| \`${v.name}\` | ${cell(fallback)} | ${cell(v.type.label)} | ${usedBy} | ${cell(v.description)} |`;
  });
  return ['| variable | default | type | used by | what it does |', '|---|---|---|---|---|', ...rows].join('\n');
}

/** `doc` with the text between the markers replaced by the generated table; throws when a marker is missing. */
export function withConfigTable(doc: string, vars: readonly ConfigVar[] = CONFIG_VARS): string {
  const start = doc.indexOf(CONFIG_TABLE_START);
  const end = doc.indexOf(CONFIG_TABLE_END);
  if (start < 0 || end < start)
    throw new Error(`docs/deploy.md: the markers ${CONFIG_TABLE_START} and ${CONFIG_TABLE_END} must enclose the configuration table`);
  return `${doc.slice(0, start + CONFIG_TABLE_START.length)}\n${configTable(vars)}\n${doc.slice(end)}`;
}
