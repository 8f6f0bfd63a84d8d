import { describe, expect, it } from 'vitest';
import { parseUpstreamEvent } from '../../../src/core/protocol';

const fields = { event_id: 'event_1', response_id: 'resp_1', item_id: 'item_1', output_index: 0, content_index: 0, delta: Buffer.alloc(480).toString('base64') };
const frame = (o: object) => Buffer.from(JSON.stringify(o));

describe('upstream audio deltas', () => {
  it('keep their bytes, in either dialect, and parse to the internal event', () => {
    for (const [dialect, type] of [['ga', 'response.output_audio.delta'], ['beta', 'response.audio.delta']] as const) {
      const bytes = frame({ type, ...fields });
      const u = parseUpstreamEvent(bytes, dialect);
      expect(u).toEqual({ known: true, event: { type: 'response.audio.delta', ...fields }, frame: bytes });
    }
  });

  it('take the general path when anything is unusual: an extra field, a bad index, the other dialect’s name', () => {
    const extra = parseUpstreamEvent(frame({ type: 'response.output_audio.delta', ...fields, extra: 1 }), 'ga');
    expect(extra).toMatchObject({ known: true, event: { type: 'response.audio.delta', ...fields } });
    expect(extra && 'frame' in extra).toBe(false);
    const badIndex = parseUpstreamEvent(frame({ type: 'response.output_audio.delta', ...fields, output_index: -1 }), 'ga');
    expect(badIndex).toMatchObject({ known: false });
    const betaNameOnGa = parseUpstreamEvent(frame({ type: 'response.audio.delta', ...fields }), 'ga');
    expect(betaNameOnGa && 'frame' in betaNameOnGa).toBe(false);
  });
});
