import { existsSync, readdirSync } from 'node:fs';
import { RerankerArgumentError } from './errors';
import type { DeviceSpec } from './types';

/** A device a session runs on. */
export type Device = { kind: 'cpu' } | { kind: 'cuda'; index: number };

export function deviceName(device: Device): string {
  return device.kind === 'cpu' ? 'cpu' : `cuda:${device.index}`;
}

const ACCEPTED = `'cpu', 'cuda', 'cuda:N', an integer N (meaning cuda:N), or a list of them`;

export function parseDevice(spec: DeviceSpec): Device {
  if (typeof spec === 'number') {
    if (!Number.isInteger(spec) || spec < 0) throw new RerankerArgumentError('devices', `${spec} is not a GPU index; use ${ACCEPTED}`);
    return { kind: 'cuda', index: spec };
  }
  if (typeof spec !== 'string') throw new RerankerArgumentError('devices', `${JSON.stringify(spec)} is not a device; use ${ACCEPTED}`);
  const s = spec.trim().toLowerCase();
  if (s === 'cpu') return { kind: 'cpu' };
  if (s === 'cuda') return { kind: 'cuda', index: 0 };
  const m = /^cuda:(\d+)$/.exec(s) ?? /^(\d+)$/.exec(s);
  if (m) return { kind: 'cuda', index: Number(m[1]) };
  throw new RerankerArgumentError('devices', `unknown device ${JSON.stringify(spec)}; use ${ACCEPTED}`);
}

/**
 * The reference's rule: no devices given means every GPU, else the CPU. GPUs count only when
 * the NVIDIA driver shows them; the CUDA provider itself is checked when a session starts.
 */
export function resolveDevices(spec: DeviceSpec | DeviceSpec[] | null | undefined): Device[] {
  if (spec == null) {
    const gpus = visibleGpuCount();
    return gpus > 0 ? Array.from({ length: gpus }, (_, index) => ({ kind: 'cuda' as const, index })) : [{ kind: 'cpu' }];
  }
  const list = Array.isArray(spec) ? spec : [spec];
  if (list.length === 0) throw new RerankerArgumentError('devices', `an empty list names no device; use ${ACCEPTED}`);
  return list.map(parseDevice);
}

function visibleGpuCount(): number {
  const dir = '/proc/driver/nvidia/gpus';
  const installed = existsSync(dir) ? readdirSync(dir).length : 0;
  const visible = process.env.CUDA_VISIBLE_DEVICES;
  if (visible === undefined) return installed;
  const listed = visible.split(',').filter((v) => v.trim() !== '' && v.trim() !== '-1').length;
  return Math.min(installed, listed);
}
