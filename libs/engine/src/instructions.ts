import { RerankerArgumentError } from './errors';

/**
 * Python `str.format` for the instruction formats the reference accepts: `{}` (auto-numbered)
 * and `{0}` / `{1}` fields, `{{` / `}}` escapes. Field 0 is the instruction, field 1 the text.
 */
export function formatInstruction(format: string, instruction: string, text: string, argument: string): string {
  // The reference turns a literal backslash-n into a newline before formatting.
  const template = format.replace(/\\n/g, '\n');
  const args = [instruction, text];
  let out = '';
  let auto = 0;
  let mode: 'auto' | 'manual' | undefined;
  for (let i = 0; i < template.length; i++) {
    const ch = template[i];
    if (ch === '{') {
      if (template[i + 1] === '{') {
        out += '{';
        i++;
        continue;
      }
      const close = template.indexOf('}', i);
      if (close < 0)
        throw new RerankerArgumentError(argument, `unmatched "{" in format ${JSON.stringify(format)}; write "{{" for a literal brace`);
      const field = template.slice(i + 1, close);
      let index: number;
      if (field === '') {
        if (mode === 'manual') throw mixedNumbering(argument, format);
        mode = 'auto';
        index = auto++;
      } else if (/^[0-9]+$/.test(field)) {
        if (mode === 'auto') throw mixedNumbering(argument, format);
        mode = 'manual';
        index = Number(field);
      } else {
        throw new RerankerArgumentError(argument, `format field {${field}} is not supported; use {} or {0}/{1} (instruction, then text)`);
      }
      if (index > 1)
        throw new RerankerArgumentError(
          argument,
          `format ${JSON.stringify(format)} asks for field ${index}; only two are given (instruction, text)`,
        );
      out += args[index];
      i = close;
    } else if (ch === '}') {
      if (template[i + 1] !== '}')
        throw new RerankerArgumentError(argument, `single "}" in format ${JSON.stringify(format)}; write "}}" for a literal brace`);
      out += '}';
      i++;
    } else {
      out += ch;
    }
  }
  return out;
}

function mixedNumbering(argument: string, format: string): RerankerArgumentError {
  return new RerankerArgumentError(argument, `format ${JSON.stringify(format)} mixes {} and numbered fields; use one style`);
}

/** The text as the model sees it: the instruction applied when there is one. */
export function applyInstruction(text: string, instruction: string | null, format: string, argument: string): string {
  return instruction == null ? text : formatInstruction(format, instruction, text, argument);
}
