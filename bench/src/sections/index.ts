/**
 * The sections `npm run bench` knows, in report order. A section is a module exporting a `Section`
 * (types.ts): it returns rows (a table and a chart panel per group), free-form metrics and notes.
 */
import type { Section } from '../types';
import { encoderSection } from './encoder';
import { kindsSection } from './kinds';
import { llmSection } from './llm';
import { mixedSection } from './mixed';
import { peersSection } from './peers';
import { scaleOutSection } from './scale-out';
import { systemSection } from './system';
import { watchersSection } from './watchers';

export const SECTIONS: readonly Section[] = [
  encoderSection,
  llmSection,
  kindsSection,
  systemSection,
  scaleOutSection,
  mixedSection,
  peersSection,
  watchersSection,
];

/** Sections run when `--sections` is not given. */
export const DEFAULT_SECTIONS = SECTIONS.map((s) => s.id);
