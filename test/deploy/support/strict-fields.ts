/**
 * Unknown fields, which the JSON schemas let through (a typo such as `replica:` or `treshold:`
 * would be silently ignored by the cluster): each object is type-checked as an object literal of
 * its kubernetes-models TypeScript interface, generated from the same OpenAPI/CRD schemas, so
 * TypeScript's excess property check names every field the schema does not know, at any depth.
 */
import * as ts from 'typescript';
import { join } from 'node:path';
import { MODULES } from './schemas';
import type { Obj } from './kustomize';

const ROOT = join(__dirname, '..', '..', '..');

/** For each object, in order: the TypeScript complaints about its fields ([] when it has none unknown). */
export function unknownFieldErrors(objects: Obj[]): string[][] {
  const file = join(ROOT, 'test', 'deploy', '__strict_fields__.ts');
  const lines: string[] = [];
  const starts: number[] = [];
  objects.forEach((obj, i) => {
    const module = MODULES[String(obj.apiVersion)];
    if (!module) throw new Error(`no schema for apiVersion ${obj.apiVersion}`);
    starts.push(lines.length);
    lines.push(`import type { I${obj.kind} as T${i} } from '${module}/${obj.kind}';`);
    // One line per object, so that a diagnostic's line says which object it is about.
    lines.push(`export const o${i}: T${i} = ${JSON.stringify(obj)};`);
  });
  const source = lines.join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    module: ts.ModuleKind.CommonJS,
    target: ts.ScriptTarget.ES2022,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) =>
    name === file ? ts.createSourceFile(name, source, lang) : getSourceFile(name, lang, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === file || fileExists(name);
  const program = ts.createProgram([file], options, host);
  const out: string[][] = objects.map(() => []);
  for (const d of ts.getPreEmitDiagnostics(program)) {
    if (d.file?.fileName !== file || d.start === undefined) throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    const line = d.file.getLineAndCharacterOfPosition(d.start).line;
    const index = Math.floor(line / 2);
    out[index].push(ts.flattenDiagnosticMessageText(d.messageText, ' ').replace(/\s+/g, ' '));
  }
  return out;
}
