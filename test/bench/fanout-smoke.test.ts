import { describe, expect, it } from 'vitest';
import { measureFanout } from '../../bench/fanout.js';

// Keeps the fan-out rows of `npm run bench` from rotting: 20 subscribers, 5 publications each,
// on the built package (dist/) and on Socket.IO. It checks that every subscriber got every
// publication and that the wsguard server encoded each payload once; it asserts no speed.
describe('bench/fanout.ts measureFanout', () => {
  it('wsguard: every subscriber gets every publication, each payload encoded once', async () => {
    const r = await measureFanout('wsguard', 20, undefined, 100);
    expect(r).toMatchObject({ variant: 'wsguard', subscribers: 20, publications: 5, deliveries: 100 });
    expect(r.encodesPerPublication).toBe(1);
    expect(r.deliveriesPerCpuSecond).toBeGreaterThan(0);
  }, 60_000);

  it('socketio: the same deliveries, no encode count', async () => {
    const r = await measureFanout('socketio', 20, undefined, 100);
    expect(r).toMatchObject({ variant: 'socketio', publications: 5, deliveries: 100 });
    expect(r.encodesPerPublication).toBeNull();
    expect(r.deliveriesPerCpuSecond).toBeGreaterThan(0);
  }, 60_000);

  it('wsguard-base without a baseline build is refused', async () => {
    await expect(measureFanout('wsguard-base', 20)).rejects.toThrow('wsguard-base needs the baseline build');
  });
});
