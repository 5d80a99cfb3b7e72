import { parseDevice, RerankerArgumentError, resolveDevices } from '@rerank/engine';

describe('devices', () => {
  test('accepts the reference forms', () => {
    expect(parseDevice('cpu')).toEqual({ kind: 'cpu' });
    expect(parseDevice('cuda')).toEqual({ kind: 'cuda', index: 0 });
    expect(parseDevice('cuda:3')).toEqual({ kind: 'cuda', index: 3 });
    expect(parseDevice(2)).toEqual({ kind: 'cuda', index: 2 });
    expect(parseDevice('1')).toEqual({ kind: 'cuda', index: 1 });
    expect(resolveDevices(['cpu', 'cuda:1', 0])).toEqual([{ kind: 'cpu' }, { kind: 'cuda', index: 1 }, { kind: 'cuda', index: 0 }]);
  });

  test('no devices means the CPU on a machine without GPUs', () => {
    expect(resolveDevices(undefined)).toEqual([{ kind: 'cpu' }]);
    expect(resolveDevices(null)).toEqual([{ kind: 'cpu' }]);
  });

  test.each([['mps'], ['cuda:x'], [-1], [1.5], ['gpu0']])('%p is an unknown device, named with the accepted forms', (spec) => {
    expect(() => parseDevice(spec as string)).toThrow(RerankerArgumentError);
    expect(() => parseDevice(spec as string)).toThrow(/devices: .*use 'cpu', 'cuda', 'cuda:N'/);
  });

  test('an empty list is refused', () => {
    expect(() => resolveDevices([])).toThrow(/devices: an empty list names no device/);
  });
});
