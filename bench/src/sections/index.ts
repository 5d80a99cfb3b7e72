/**
 * The sections `npm run bench` knows, in report order. A section is a module exporting a `Section`
 * (types.ts): it returns rows (a table and a chart panel per group), free-form metrics and notes.
 * Sections 3 (system: API, Redis, workers, aggregator) and 4 (scale-out) plug in here.
 */
import type { Section } from '../types';
import { encoderSection } from './encoder';
import { llmSection } from './llm';
import { systemSection } from './system';

export const SECTIONS: readonly Section[] = [encoderSection, llmSection, systemSection];

/** Sections run when `--sections` is not given. */
export const DEFAULT_SECTIONS = SECTIONS.map((s) => s.id);
