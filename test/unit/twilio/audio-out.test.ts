import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FRAME_BYTES } from '../../../src/core/twilio/playout';
import { TwilioAudioOut } from '../../../src/gateway/sessions/twilio-audio-out';

type Msg = { event: string; streamSid: string; media?: { payload: string }; mark?: { name: string } };

describe('TwilioAudioOut (the Twilio transport’s audio sink)', () => {
  let sent: Msg[];
  let sink: TwilioAudioOut;
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
    sent = [];
    sink = new TwilioAudioOut(() => 'MZ1', (m) => sent.push(m as Msg));
  });
  afterEach(() => {
    sink.close();
    vi.useRealTimers();
  });
  const media = () => sent.filter((m) => m.event === 'media');

  it('sends a small lead of frames at once and the rest one per 20 ms', () => {
    sink.push('item_a', new Uint8Array(FRAME_BYTES * 10));
    expect(media()).toHaveLength(3); // the frame due now and two ahead
    vi.advanceTimersByTime(100);
    expect(media()).toHaveLength(8);
    vi.advanceTimersByTime(1_000);
    expect(media()).toHaveLength(10);
    expect(sent.at(-1)).toMatchObject({ event: 'mark', streamSid: 'MZ1', mark: { name: 'item_a:200' } });
    expect(sink.playing).toBe(true); // until Twilio echoes the mark
    sink.onMark('item_a:200');
    expect(sink.playing).toBe(false);
  });

  it('on barge-in stops sending, clears Twilio’s queue and says what was heard', () => {
    sink.push('item_a', new Uint8Array(FRAME_BYTES * 50));
    vi.advanceTimersByTime(200);
    const cut = sink.interrupt();
    expect(cut).toEqual({ itemId: 'item_a', audioEndMs: 200 });
    expect(sent.at(-1)).toEqual({ event: 'clear', streamSid: 'MZ1' });
    const before = media().length;
    vi.advanceTimersByTime(1_000);
    sink.push('item_a', new Uint8Array(FRAME_BYTES)); // late audio of the cut item
    expect(media()).toHaveLength(before);
  });

  it('has nothing to clear when nothing plays', () => {
    expect(sink.interrupt()).toBeNull();
    expect(sent).toEqual([]);
  });
});
