import { readFileSync } from 'node:fs';
import { cpus, totalmem, loadavg, release } from 'node:os';
import { join } from 'node:path';

export interface MachineInfo {
  cpuModel: string;
  /** Logical CPUs visible to the process. */
  cores: number;
  memoryGiB: number;
  node: string;
  onnxruntime: string;
  transformersJs: string;
  kernel: string;
  loadavg: number[];
}

function packageVersion(name: string): string {
  try {
    const pkg = JSON.parse(readFileSync(join(require.resolve(`${name}/package.json`, { paths: [process.cwd()] })), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    try {
      // Packages whose exports hide package.json: walk up from the entry point.
      let dir = require.resolve(name, { paths: [process.cwd()] });
      for (let i = 0; i < 6; i++) {
        dir = join(dir, '..');
        try {
          const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
          if (pkg.name === name) return pkg.version ?? 'unknown';
        } catch {
          /* keep walking */
        }
      }
    } catch {
      /* not installed */
    }
    return 'not installed';
  }
}

function cpuModel(): string {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const m = /^model name\s*:\s*(.+)$/m.exec(info);
    if (m) return m[1].trim();
  } catch {
    /* not Linux */
  }
  return cpus()[0]?.model ?? 'unknown';
}

export function machineInfo(): MachineInfo {
  return {
    cpuModel: cpuModel(),
    cores: cpus().length,
    memoryGiB: totalmem() / 2 ** 30,
    node: process.version,
    onnxruntime: packageVersion('onnxruntime-node'),
    transformersJs: packageVersion('@huggingface/transformers'),
    kernel: release(),
    loadavg: loadavg(),
  };
}
