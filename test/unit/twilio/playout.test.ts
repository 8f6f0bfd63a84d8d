import { describe, expect, it } from 'vitest';
import { FRAME_BYTES, parseMarkName, TwilioPlayout, type Outbound } from '../../../src/core/twilio/playout';

function drain(p: TwilioPlayout, now = 0): Outbound[] {
  const out: Outbound[] = [];
  for (let o = p.next(now); o; o = p.next(now)) out.push(o);
  return out;
}

describe('TwilioPlayout', () => {
  it('cuts audio into 160-byte frames with a mark named by item and cumulative ms after each chunk', () => {
    const p = new TwilioPlayout();
    p.push('item_a', new Uint8Array(400)); // 2 frames + 80 bytes carried
    p.push('item_a', new Uint8Array(80)); // completes the third frame
    const out = drain(p);
    expect(out.map((o) => (o.event === 'mark' ? o.name : o.payload.length))).toEqual([160, 160, 'item_a:40', 160, 'item_a:60']);
  });

  it('pads the last partial frame with μ-law silence when the item finishes', () => {
    const p = new TwilioPlayout();
    p.push('item_a', new Uint8Array(100).fill(7));
    expect(p.queuedFrames).toBe(0);
    p.finish('item_a');
    const [frame, mark] = drain(p);
    expect(frame?.event === 'media' && frame.payload.length).toBe(FRAME_BYTES);
    expect(frame?.event === 'media' && [frame.payload[99], frame.payload[100]]).toEqual([7, 0xff]);
    expect(mark).toMatchObject({ event: 'mark', name: 'item_a:20' });
  });

  it('reports on barge-in the time since the first frame, capped by what was sent', () => {
    const p = new TwilioPlayout();
    p.push('item_a', new Uint8Array(FRAME_BYTES * 10));
    for (let i = 0; i < 5; i++) p.next(1000 + i * 20); // 100 ms sent, starting at t=1000
    expect(p.interrupt(1060)).toEqual({ itemId: 'item_a', audioEndMs: 60 });
    expect(p.isEmpty).toBe(true);
  });

  it('never reports less than the last echoed mark, nor more than was sent', () => {
    const p = new TwilioPlayout();
    p.push('item_a', new Uint8Array(FRAME_BYTES * 3));
    const out = drain(p, 1000); // all 60 ms sent at once (bursty transport)
    const mark = out.find((o) => o.event === 'mark')!;
    p.push('item_a', new Uint8Array(FRAME_BYTES)); // more queued, so still playing
    p.onMark(mark.event === 'mark' ? mark.name : '');
    expect(p.interrupt(1010)).toEqual({ itemId: 'item_a', audioEndMs: 60 });
    const q = new TwilioPlayout();
    q.push('item_b', new Uint8Array(FRAME_BYTES * 2));
    drain(q, 0);
    expect(q.interrupt(5000)).toEqual({ itemId: 'item_b', audioEndMs: 40 });
  });

  it('has nothing to interrupt once every mark was echoed', () => {
    const p = new TwilioPlayout();
    p.push('item_a', new Uint8Array(FRAME_BYTES));
    for (const o of drain(p)) if (o.event === 'mark') p.onMark(o.name);
    expect(p.playing).toBe(false);
    expect(p.interrupt(100)).toBeNull();
  });

  it('ignores marks echoed after a clear and drops late audio of the interrupted item', () => {
    const p = new TwilioPlayout();
    p.push('item_a', new Uint8Array(FRAME_BYTES * 2));
    const out = drain(p, 0);
    const name = out.find((o) => o.event === 'mark')!;
    p.interrupt(10);
    p.onMark(name.event === 'mark' ? name.name : ''); // Twilio returns flushed marks
    p.push('item_a', new Uint8Array(FRAME_BYTES)); // late delta of the cancelled reply
    expect(p.isEmpty).toBe(true);
    expect(p.playing).toBe(false);
    p.push('item_b', new Uint8Array(FRAME_BYTES)); // the next reply plays normally
    expect(p.queuedFrames).toBe(1);
  });

  it('parses mark names with colons in the item id', () => {
    expect(parseMarkName('item_x:y:1200')).toEqual({ itemId: 'item_x:y', ms: 1200 });
    expect(parseMarkName('responsePart')).toBeNull();
  });
});
