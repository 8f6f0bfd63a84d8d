/**
 * Calls driven over plain HTTP: audio chunks and files into POST /v1/calls/:id/audio, client
 * events into POST /v1/calls/:id/events, answers out of the SSE event stream; one-shot turns;
 * hang-up. Real HTTP, Redis, workers and the fake provider.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseWav } from '../../src/core/audio/formats';
import { pcm16ToBytes } from '../../src/core/audio/pcm';
import { resample } from '../../src/core/audio/resample';
import { fixturePath, loadWavFixture } from '../fixtures';
import { serviceWithAcme } from '../helpers/service';

const svc = serviceWithAcme();

type Ev = { type: string; [k: string]: any };

/** Reads a call's SSE stream in the background; waitFor resolves on the first matching event. */
function follow(callId: string, query = '') {
  const events: Ev[] = [];
  const ctl = new AbortController();
  let wake: () => void = () => {};
  let ended = false;
  const done = (async () => {
    const res = await svc.api(`/v1/calls/${callId}/events${query}`, { signal: ctl.signal });
    const reader = res.body!.getReader();
    let buf = '';
    try {
      for (;;) {
        const { value, done: eof } = await reader.read();
        if (eof) break;
        buf += Buffer.from(value).toString('utf8');
        let at: number;
        while ((at = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, at);
          buf = buf.slice(at + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (data) events.push(JSON.parse(data.slice(6)) as Ev);
        }
        wake();
      }
    } catch {
      // aborted
    }
    ended = true;
    wake();
  })();
  return {
    events,
    ended: done,
    close: () => ctl.abort(),
    async waitFor(match: (e: Ev) => boolean, what: string): Promise<Ev> {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const hit = events.find(match);
        if (hit) return hit;
        if (ended || Date.now() > deadline) throw new Error(`no ${what}; got ${events.map((e) => e.type).join(', ')}`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 1_000).unref();
        });
      }
    },
  };
}

const doneWith = (status: string) => (e: Ev) => e.type === 'response.done' && e.response.status === status;

async function newCall() {
  const res = await svc.api('/v1/calls', { method: 'POST', json: { business_id: 'acme' } });
  return ((await res.json()) as { id: string }).id;
}

function postAudio(callId: string, body: Uint8Array, contentType: string, query = '') {
  return svc.api(`/v1/calls/${callId}/audio${query}`, { method: 'POST', body: body as Uint8Array<ArrayBuffer>, headers: { 'content-type': contentType } });
}

/** "What are your opening hours?" as 16 kHz PCM16 (with the fixture's 0.8 s of trailing silence). */
const speech16k = () => pcm16ToBytes(loadWavFixture('hours_16k.wav').pcm);

describe('POST /v1/calls/:id/audio', () => {
  it('takes raw PCM16 chunks at the stated rate and answers when the VAD ends the turn', async () => {
    const id = await newCall();
    const sse = follow(id);
    const bytes = speech16k();
    let received = 0;
    for (let i = 0; i < bytes.length; i += 6400) {
      const res = await postAudio(id, bytes.subarray(i, i + 6400), 'audio/pcm;rate=16000');
      expect(res.status).toBe(202);
      received += ((await res.json()) as { received_ms: number }).received_ms;
    }
    expect(Math.abs(received - 2630)).toBeLessThan(30);
    const done = await sse.waitFor(doneWith('completed'), 'completed response');
    expect(sse.events.some((e) => e.type === 'response.output_audio.delta' && e.response_id === done.response.id)).toBe(true);
    expect(sse.events[0]!.type).toBe('session.created');
    sse.close();
  });

  it('ends the turn at once with ?commit=true, without waiting for silence', async () => {
    const id = await newCall();
    const sse = follow(id);
    const { pcm } = loadWavFixture('hours_16k.wav');
    const speechOnly = pcm.subarray(0, 16 * 1800); // cut before the trailing silence
    const res = await postAudio(id, pcm16ToBytes(speechOnly), 'audio/pcm;rate=16000', '?commit=true');
    expect(await res.json()).toMatchObject({ committed: true });
    await sse.waitFor((e) => e.type === 'input_audio_buffer.committed', 'commit');
    await sse.waitFor(doneWith('completed'), 'completed response');
    expect(sse.events.some((e) => e.type === 'input_audio_buffer.speech_stopped')).toBe(false);
    sse.close();
  });

  it('makes one turn of the README example: a file ending in silence, posted with ?commit=true', async () => {
    // The VAD ends the turn on the file's trailing silence; the commit then has nothing new to end.
    const id = await newCall();
    const sse = follow(id);
    const res = await postAudio(id, readFileSync(fixturePath('hours_16k.wav')), 'audio/wav', '?commit=true');
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ received_ms: 2630, committed: false });
    await sse.waitFor(doneWith('completed'), 'completed response');
    const count = (type: string) => sse.events.filter((e) => e.type === type).length;
    expect(count('input_audio_buffer.committed')).toBe(1);
    expect(count('conversation.item.input_audio_transcription.completed')).toBe(1);
    expect(sse.events.filter((e) => e.type === 'error')).toEqual([]);
    const logs = (await (await svc.api(`/v1/calls/${id}/logs`)).json()) as { data: { stage: string; event: string }[] };
    expect(logs.data.filter((e) => e.stage === 'vad' && e.event === 'completed')).toHaveLength(1);
    // A commit with nothing new since that turn ended stays a no-op.
    const again = await postAudio(id, new Uint8Array(16 * 2 * 300), 'audio/pcm;rate=16000', '?commit=true');
    expect(await again.json()).toMatchObject({ committed: false });
    sse.close();
  });

  it('passes bytes in the session input format through as application/octet-stream', async () => {
    const id = await newCall();
    const sse = follow(id);
    const { pcm, rate } = loadWavFixture('hours_16k.wav');
    const res = await postAudio(id, pcm16ToBytes(resample(pcm, rate, 24_000)), 'application/octet-stream');
    expect(((await res.json()) as { received_ms: number }).received_ms).toBe(2630);
    await sse.waitFor(doneWith('completed'), 'completed response');
    sse.close();
  });

  it.each([
    ['hours_8k.wav', 'audio/wav'],
    ['hours.mp3', 'audio/mpeg'],
    ['hours.ogg', 'audio/ogg'],
    ['hours.webm', 'audio/webm'],
  ])('decodes a whole %s file and answers it', async (file, type) => {
    const id = await newCall();
    const sse = follow(id);
    const res = await postAudio(id, readFileSync(fixturePath(file)), type, '?commit=true');
    expect(res.status).toBe(202);
    expect(((await res.json()) as { received_ms: number }).received_ms).toBeGreaterThan(2000);
    const t = await sse.waitFor((e) => e.type === 'conversation.item.input_audio_transcription.completed', 'transcript');
    expect(t.transcript.length).toBeGreaterThan(0);
    await sse.waitFor(doneWith('completed'), 'completed response');
    sse.close();
  });

  it('answers a corrupt upload with 400 and the call goes on', async () => {
    const id = await newCall();
    const sse = follow(id);
    const bad = await postAudio(id, Buffer.from('this is not an mp3 file at all'.repeat(20)), 'audio/mpeg');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('invalid_audio');
    const good = await postAudio(id, readFileSync(fixturePath('hours_16k.wav')), 'audio/wav');
    expect(good.status).toBe(202);
    await sse.waitFor(doneWith('completed'), 'completed response');
    sse.close();
  });

  it('refuses other content types with 415 and an empty body with 400', async () => {
    const id = await newCall();
    const res = await svc.api(`/v1/calls/${id}/audio`, { method: 'POST', body: 'hello', headers: { 'content-type': 'text/plain' } });
    expect(res.status).toBe(415);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unsupported_media_type');
    expect((await postAudio(id, new Uint8Array(0), 'audio/pcm')).status).toBe(400);
  });
});

describe('POST /v1/calls/:id/events', () => {
  it('takes client events in the request’s dialect and the answer arrives on the event stream', async () => {
    const id = await newCall();
    const sse = follow(id, '?dialect=beta');
    const res = await svc.api(`/v1/calls/${id}/events?dialect=beta`, {
      method: 'POST',
      json: [
        { type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Are you open on Sunday?' }] } },
        { type: 'response.create' },
      ],
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: 2 });
    await sse.waitFor(doneWith('completed'), 'completed response');
    const said = await sse.waitFor((e) => e.type === 'response.audio_transcript.done', 'transcript');
    expect(said.transcript).toContain('Are you open on Sunday');
    sse.close();
  });

  it('rejects an invalid event with 400 naming it, and sends nothing', async () => {
    const id = await newCall();
    const res = await svc.api(`/v1/calls/${id}/events`, { method: 'POST', json: { type: 'no.such.event' } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unknown_event');
  });
});

describe('POST /v1/calls/:id/turns', () => {
  it('answers one utterance with its transcript, the reply text and a WAV of the reply', async () => {
    const id = await newCall();
    svc.fake.script.transcripts.push('What are your opening hours?');
    const res = await svc.api(`/v1/calls/${id}/turns`, { method: 'POST', body: readFileSync(fixturePath('hours.mp3')), headers: { 'content-type': 'audio/mpeg' } });
    expect(res.status).toBe(200);
    const turn = (await res.json()) as { turn_id: string; status: string; transcript: string; response_text: string; tool_calls: unknown[]; audio_url: string };
    expect(turn).toMatchObject({ status: 'completed', transcript: 'What are your opening hours?', tool_calls: [] });
    expect(turn.response_text).toContain('What are your opening hours');
    const audio = await svc.api(new URL(turn.audio_url).pathname);
    expect(audio.headers.get('content-type')).toBe('audio/wav');
    const wav = parseWav(Buffer.from(await audio.arrayBuffer()));
    // The fake speaks 40 ms per character.
    expect(wav.pcm.length / (wav.sampleRate / 1000)).toBeGreaterThan(turn.response_text.length * 40 * 0.8);
  });

  it('keeps the conversation across turns of the same call', async () => {
    const id = await newCall();
    svc.fake.script.transcripts.push('My name is Ada.', 'What is my name?');
    const body = pcm16ToBytes(loadWavFixture('hours_16k.wav').pcm);
    for (let i = 0; i < 2; i++) {
      const res = await svc.api(`/v1/calls/${id}/turns`, { method: 'POST', body: body as Uint8Array<ArrayBuffer>, headers: { 'content-type': 'audio/pcm;rate=16000' } });
      expect(res.status).toBe(200);
    }
    const call = (await (await svc.api(`/v1/calls/${id}`)).json()) as { transcript: { role: string; text: string }[] };
    expect(call.transcript.map((t) => t.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    expect(call.transcript[2]!.text).toBe('What is my name?');
  });

  it('returns the reply itself as audio/wav when asked', async () => {
    const id = await newCall();
    const res = await svc.api(`/v1/calls/${id}/turns`, {
      method: 'POST',
      body: readFileSync(fixturePath('hours_16k.wav')),
      headers: { 'content-type': 'audio/wav', accept: 'audio/wav' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('audio/wav');
    expect(res.headers.get('x-turn-id')).toMatch(/^turn_/);
    const wav = parseWav(Buffer.from(await res.arrayBuffer()));
    expect(wav.sampleRate).toBe(24_000);
    expect(wav.pcm.length).toBeGreaterThan(24_000);
  });

  it('answers a corrupt upload with 400, and the next turn works', async () => {
    const id = await newCall();
    const bad = await svc.api(`/v1/calls/${id}/turns`, { method: 'POST', body: Buffer.alloc(3000, 7), headers: { 'content-type': 'audio/ogg' } });
    expect(bad.status).toBe(400);
    const good = await svc.api(`/v1/calls/${id}/turns`, { method: 'POST', body: readFileSync(fixturePath('hours_16k.wav')), headers: { 'content-type': 'audio/wav' } });
    expect(((await good.json()) as { status: string }).status).toBe('completed');
  });
});

describe('hang-up of an HTTP-driven call', () => {
  it('closes the event stream, keeps the record and transcript, and refuses more audio', async () => {
    const id = await newCall();
    const sse = follow(id);
    await postAudio(id, speech16k(), 'audio/pcm;rate=16000');
    await sse.waitFor(doneWith('completed'), 'completed response');
    const del = await svc.api(`/v1/calls/${id}`, { method: 'DELETE' });
    expect(((await del.json()) as { status: string }).status).toBe('ended');
    await sse.ended;
    const after = await postAudio(id, speech16k(), 'audio/pcm;rate=16000');
    expect(after.status).toBe(409);
    const call = (await (await svc.api(`/v1/calls/${id}`)).json()) as { status: string; end_reason: string; transcript: unknown[] };
    expect(call).toMatchObject({ status: 'ended', end_reason: 'hangup' });
    expect(call.transcript.length).toBe(2);
  });
});
