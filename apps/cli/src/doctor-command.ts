/**
 * `rerank doctor`: whether `cuda:N` sessions can start on this machine, and if not, what is missing:
 * the CUDA provider beside onnxruntime-node, each library it loads (resolved or missing), the NVIDIA
 * driver, the GPUs it shows. Exit status 0 when nothing stands in the way, 1 otherwise.
 */
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { type CudaReport, inspectCuda } from '@rerank/engine';

export const DOCTOR_HELP = `rerank doctor [--json]

Checks what a cuda:N session needs on this machine, without starting one: onnxruntime's CUDA
execution provider beside onnxruntime-node (\`npm run setup:gpu\` installs it), every library it
loads (resolved or missing, as the dynamic loader finds them), the NVIDIA driver and the GPUs it
shows. Exit status 0 when cuda sessions can start, 1 otherwise (the last line says why).

  --json   the same as one JSON object
`;

function render(r: CudaReport): string {
  const lines = [`onnxruntime-node ${r.onnxruntimeNode.version}: ${r.onnxruntimeNode.folder}`];
  const from = r.installed ? ` (${r.installed.provider}, CUDA ${r.installed.cuda}, installed by rerank setup-gpu)` : '';
  lines.push(`CUDA execution provider${from}:`);
  for (const p of r.provider) lines.push(`  ${p.found ? 'found   ' : 'missing '} ${p.file}`);
  if (r.libraries.length) {
    lines.push('Libraries it loads:');
    const width = Math.max(...r.libraries.map((l) => l.soname.length));
    for (const l of r.libraries) {
      const by = l.neededBy === 'CUDA provider' ? '' : ` (needed by ${l.neededBy})`;
      const where = l.path === null ? 'not found' : dirname(l.path) === r.onnxruntimeNode.folder ? "in the provider's folder" : l.path;
      lines.push(`  ${l.path ? 'resolved' : 'missing '} ${l.soname.padEnd(width)}  ${where}${by}`);
    }
  }
  lines.push(
    `NVIDIA driver: ${r.driver.version ? `kernel module ${r.driver.version}` : 'no kernel module (/proc/driver/nvidia/version)'}, ` +
      `libcuda.so.1 ${r.driver.library ?? 'not found'}`,
  );
  const visible = process.env.CUDA_VISIBLE_DEVICES === undefined ? '' : ` (CUDA_VISIBLE_DEVICES=${process.env.CUDA_VISIBLE_DEVICES})`;
  if (r.gpus.length === 0) lines.push(`GPUs: none visible${visible}`);
  else {
    lines.push(`GPUs (${r.gpuSource})${visible}:`);
    for (const g of r.gpus) lines.push(`  cuda:${g.index}  ${g.name}${g.memory ? `, ${g.memory}` : ''}`);
  }
  lines.push(r.problem ? `cuda sessions cannot start: ${r.problem}` : 'cuda sessions can start: nothing missing');
  return `${lines.join('\n')}\n`;
}

export function runDoctor(argv: string[]): number {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' } } });
  const report = inspectCuda();
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : render(report));
  return report.problem ? 1 : 0;
}
