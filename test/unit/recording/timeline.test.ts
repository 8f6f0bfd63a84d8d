import { describe, expect, it } from 'vitest';
import { AgentTimeline, heardSamples, JITTER_SAMPLES, placeCaller, placeAgent } from '../../../src/core/recording/timeline';
import { interleave, wavHeader } from '../../../src/core/recording/wav';

describe('recording timeline', () => {
  it('puts caller chunks back to back through jitter and leaves silence for a real gap', () => {
    expect(placeCaller(0, 480, 480)).toBe(0); // first chunk, on time
    expect(placeCaller(480, 480 + 480 + JITTER_SAMPLES, 480)).toBe(480); // late by the jitter allowance: still contiguous
    expect(placeCaller(480, 48_000, 480)).toBe(48_000 - 480); // a second later: it ends when it arrived
    expect(placeCaller(24_000, 480, 480)).toBe(24_000); // an upload ahead of real time follows on
  });

  it('plays agent audio from when it was sent, after what was sent before', () => {
    expect(placeAgent(0, 1000)).toBe(1000);
    expect(placeAgent(5000, 1000)).toBe(5000);
  });

  it('cuts at barge-in only what was sent before it and still to play', () => {
    const t = new AgentTimeline();
    const a = t.place('item_a', 24_000, 1000); // 1 s of audio sent at once, plays 1000..25000
    t.cutAt(7000); // the caller spoke 0.25 s in
    const b = t.place('item_b', 2400, 8000); // the next answer, after the cut
    expect(heardSamples(a, t.cuts)).toBe(6000);
    expect(b.pos).toBe(8000);
    expect(heardSamples(b, t.cuts)).toBe(2400);
  });

  it('ignores a barge-in while nothing plays', () => {
    const t = new AgentTimeline();
    const a = t.place('item_a', 2400, 0);
    t.cutAt(10_000);
    expect(t.cuts.positions).toEqual([]);
    expect(heardSamples(a, t.cuts)).toBe(2400);
  });

  it('cuts an item to what the client says it played, across its chunks', () => {
    const t = new AgentTimeline();
    const c1 = t.place('item_a', 1000, 0);
    const c2 = t.place('item_a', 1000, 0);
    const other = t.place('item_b', 1000, 0);
    t.cutItem('item_a', 1500, 500);
    expect([heardSamples(c1, t.cuts), heardSamples(c2, t.cuts), heardSamples(other, t.cuts)]).toEqual([1000, 500, 1000]);
    expect(c2.offset).toBe(1000);
  });

  it('writes a stereo header and interleaves, padding the shorter channel with silence', () => {
    const h = wavHeader(3, 24_000, 2);
    expect(h.toString('ascii', 0, 4)).toBe('RIFF');
    expect([h.readUInt16LE(22), h.readUInt32LE(24), h.readUInt16LE(32), h.readUInt32LE(40)]).toEqual([2, 24_000, 4, 12]);
    const l = Buffer.from(new Int16Array([1, 2, 3]).buffer);
    const r = Buffer.from(new Int16Array([-1]).buffer);
    const out = interleave(l, r, 3);
    expect([...new Int16Array(out.buffer, out.byteOffset, 6)]).toEqual([1, -1, 2, 0, 3, 0]);
  });
});
