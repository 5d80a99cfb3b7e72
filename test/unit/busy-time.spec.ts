/** A worker's busy time and throughput (apps/worker/src/busy-time.ts), on explicit clocks. */
import { BusyTime, Throughput } from '../../apps/worker/src/busy-time';

it('counts busy time once while tasks overlap; each reader reads its own window', () => {
  const busy = new BusyTime();
  busy.start(0);
  busy.start(100);
  busy.end(300);
  expect(busy.ms(400)).toBe(400);
  busy.end(500);
  expect(busy.ms(900)).toBe(500);
  busy.start(1000);
  expect(busy.ms(1250)).toBe(750);
});

it('throughput: characters per second of busy time, smoothed; windows under 500 ms busy wait for more', () => {
  const busy = new BusyTime();
  const rate = new Throughput(busy);
  busy.start(0);
  rate.add(1000);
  busy.end(400);
  expect(rate.sample(1000)).toBe(0);
  busy.start(1000);
  rate.add(2000);
  busy.end(1600);
  // 3,000 characters in 1,000 ms busy.
  expect(rate.sample(2000)).toBe(3000);
  busy.start(2000);
  busy.start(2100);
  rate.add(1000);
  busy.end(2500);
  busy.end(2600);
  // 1,000 characters in 600 ms: 1,666.7 a second, smoothed with the 3,000 before.
  expect(rate.sample(3000)).toBeCloseTo(0.7 * 3000 + 0.3 * (1000 / 0.6), 6);
});
