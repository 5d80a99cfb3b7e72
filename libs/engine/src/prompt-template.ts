/**
 * The chat prompt of the qwen3 family (Qwen3-Reranker's published usage): an untruncated `prefix`,
 * the `format` filled with the instruction, query and document (the part cut to fit maxLength, at
 * its end), and an untruncated `suffix`.
 */
import { RerankerArgumentError } from './errors';

export interface PromptTemplate {
  prefix: string;
  /** Placeholders `{instruction}`, `{query}`, `{document}` (`{{` and `}}` stand for braces), Python str.format style. */
  format: string;
  suffix: string;
}

export const QWEN3_DEFAULT_INSTRUCTION = 'Given a web search query, retrieve relevant passages that answer the query';

export const QWEN3_PROMPT_TEMPLATE: PromptTemplate = {
  prefix:
    '<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct provided. ' +
    'Note that the answer can only be "yes" or "no".<|im_end|>\n<|im_start|>user\n',
  format: '<Instruct>: {instruction}\n<Query>: {query}\n<Document>: {document}',
  suffix: '<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n',
};

const PLACEHOLDERS = ['instruction', 'query', 'document'] as const;
type Placeholder = (typeof PLACEHOLDERS)[number];

/** The template's pieces: literal text and placeholders, in order. Throws on an unknown or unbalanced brace. */
function pieces(format: string, argument: string): (string | { name: Placeholder })[] {
  const out: (string | { name: Placeholder })[] = [];
  let text = '';
  for (let i = 0; i < format.length; i++) {
    const c = format[i];
    if ((c === '{' || c === '}') && format[i + 1] === c) {
      text += c;
      i++;
    } else if (c === '{') {
      const end = format.indexOf('}', i);
      const name = end < 0 ? '' : format.slice(i + 1, end);
      if (!(PLACEHOLDERS as readonly string[]).includes(name))
        throw new RerankerArgumentError(
          argument,
          `${end < 0 ? 'an unclosed "{"' : `unknown placeholder {${name}}`} in the format; use {instruction}, {query} and {document} (write {{ and }} for braces)`,
        );
      out.push(text, { name: name as Placeholder });
      text = '';
      i = end;
    } else if (c === '}') {
      throw new RerankerArgumentError(argument, 'a single "}" in the format; write }} for a brace');
    } else text += c;
  }
  out.push(text);
  return out;
}

/**
 * The template's format as a function of the instruction, query and document (values go in verbatim:
 * braces inside a query or document are text). Throws when the format does not parse or does not
 * place the query and the document once each.
 */
export function promptFormatter(template: PromptTemplate, argument = 'promptTemplate'): (values: Record<Placeholder, string>) => string {
  const parts = pieces(template.format, argument);
  for (const name of ['query', 'document'] as const) {
    const n = parts.filter((p) => typeof p !== 'string' && p.name === name).length;
    if (n !== 1) throw new RerankerArgumentError(argument, `the format must hold {${name}} once, found it ${n} times`);
  }
  return (values) => parts.map((p) => (typeof p === 'string' ? p : values[p.name])).join('');
}
