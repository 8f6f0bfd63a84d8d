/**
 * Drop-in for the official OpenAI clients (docs/DESIGN.md §7), driven with the libraries as published:
 * `openai` 6.x realtime WebSocket clients (GA `openai/realtime/ws`, beta `openai/beta/realtime/ws`)
 * through a TLS terminator (they only speak wss://), the Agents SDK (`@openai/agents-realtime`
 * RealtimeAgent + RealtimeSession on the websocket transport), a beta upstream that leaves
 * optional session fields out, and TwiML checked with the `twilio` package's own helpers.
 */
import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import { OpenAIRealtimeWS as BetaRealtimeWS } from 'openai/beta/realtime/ws';
import { RealtimeAgent, RealtimeSession, tool } from '@openai/agents-realtime';
import twilio from 'twilio';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { concatSamples, samplesToBuffer, silence } from '../fakes/synth';
import { loadWavFixture } from '../fixtures';
import { ADMIN_KEY, startService, type TestService } from '../helpers/service';
import { startTlsProxy, type TlsProxy } from '../helpers/tls-proxy';

type Mode = 'chained' | 'realtime';
type Event = { type: string; [k: string]: any };
const MODES: Mode[] = ['chained', 'realtime'];
const TWILIO_TOKEN = 'twilio-auth-token-for-tests';

let svc: TestService;
let proxy: TlsProxy;
beforeAll(async () => {
  svc = await startService({ env: { REALTIME_API_KEY: 'sk-provider', TWILIO_AUTH_TOKEN: TWILIO_TOKEN } });
  proxy = await startTlsProxy(svc.url);
  for (const mode of MODES) {
    const res = await svc.api(`/v1/businesses/oc-${mode}`, {
      method: 'PUT',
      json: { mode, session: { instructions: 'You are the Acme support agent.' }, allowed_overrides: ['voice', 'instructions', 'turn_detection', 'input_audio_format', 'output_audio_format', 'modalities', 'input_audio_transcription', 'tools'] },
    });
    expect(res.status).toBeLessThan(300);
  }
});
afterAll(async () => {
  await proxy?.close();
  await svc?.stop();
});

/**
 * The SDK's realtime URL is always `baseURL + '/realtime?model=…'`: the business goes in the base
 * URL's query (the `&` makes the appended path an ignored parameter).
 */
function openaiClient(businessId: string): OpenAI {
  return new OpenAI({ apiKey: ADMIN_KEY, baseURL: `${proxy.url}/v1/realtime?business_id=${businessId}&` });
}

/** Everything a client receives, and a way to wait for one event (already received or still to come). */
function recorder(on: (listener: (e: Event) => void) => void) {
  const events: Event[] = [];
  const waiters: { pred: (e: Event) => boolean; resolve: (e: Event) => void }[] = [];
  on((e) => {
    events.push(e);
    for (const w of [...waiters]) {
      if (w.pred(e)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(e);
      }
    }
  });
  return {
    events,
    next(type: string, pred: (e: Event) => boolean = () => true, after = 0): Promise<Event> {
      const seen = events.slice(after).find((e) => e.type === type && pred(e));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ pred: (e) => e.type === type && pred(e), resolve }));
    },
  };
}

/** "What are your opening hours?" at 24 kHz and a second of silence, so the VAD ends the turn. */
function spokenTurn(): Buffer {
  return samplesToBuffer(concatSamples(loadWavFixture('hours_24k.wav').pcm, silence(1000)));
}

for (const dialect of ['ga', 'beta'] as const) {
  describe.each(MODES)(`the openai ${dialect} realtime client (openai/${dialect === 'ga' ? '' : 'beta/'}realtime/ws) over wss, %s mode`, (mode) => {
    const names = dialect === 'ga' ? { transcript: 'response.output_audio_transcript.done', audio: 'response.output_audio.delta' } : { transcript: 'response.audio_transcript.done', audio: 'response.audio.delta' };

    async function connect() {
      const props = { model: 'gpt-realtime', options: { ca: proxy.ca } };
      const errors: unknown[] = [];
      let rt: OpenAIRealtimeWS | BetaRealtimeWS;
      let r: ReturnType<typeof recorder>;
      if (dialect === 'ga') {
        const ga = new OpenAIRealtimeWS(props, openaiClient(`oc-${mode}`));
        ga.on('error', (err) => errors.push(err));
        r = recorder((l) => ga.on('event', (e) => l(e as Event)));
        rt = ga;
      } else {
        const beta = new BetaRealtimeWS(props, openaiClient(`oc-${mode}`));
        beta.on('error', (err) => errors.push(err));
        r = recorder((l) => beta.on('event', (e) => l(e as Event)));
        rt = beta;
      }
      await r.next('session.created');
      return { rt, r, errors, send: (e: object) => rt.send(e as never) };
    }

    it('applies the session.update these clients send (transcription, noise reduction, tracing), then answers a spoken turn', async () => {
      const { rt, r, errors, send } = await connect();
      try {
        send(
          dialect === 'ga'
            ? { type: 'session.update', session: { type: 'realtime', output_modalities: ['audio'], audio: { input: { transcription: { model: 'whisper-1' }, noise_reduction: null } }, tracing: 'auto', tool_choice: 'auto' } }
            : { type: 'session.update', session: { modalities: ['text', 'audio'], input_audio_transcription: { model: 'whisper-1' }, input_audio_noise_reduction: null, tracing: 'auto', tool_choice: 'auto' } },
        );
        const updated = await r.next('session.updated');
        expect(dialect === 'ga' ? updated.session.audio.input : updated.session).toMatchObject(dialect === 'ga' ? { transcription: { model: 'whisper-1' }, noise_reduction: null } : { input_audio_transcription: { model: 'whisper-1' }, input_audio_noise_reduction: null });
        expect(updated.session.tracing).toBe('auto');

        svc.fake.script.transcripts.push('What are your opening hours?');
        const audio = spokenTurn();
        for (let i = 0; i < audio.length; i += 4800) send({ type: 'input_audio_buffer.append', audio: audio.subarray(i, i + 4800).toString('base64') });
        const done = await r.next('response.done');
        expect(done.response.status).toBe('completed');
        const said = await r.next(names.transcript);
        expect(said.transcript).toMatch(/opening hours/i);
        expect(r.events.some((e) => e.type === names.audio)).toBe(true);
        expect(errors).toEqual([]);
      } finally {
        rt.close();
      }
    });

    it('answers a text turn', async () => {
      const { rt, r, errors, send } = await connect();
      try {
        send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Do you open on Sundays?' }] } });
        send({ type: 'response.create' });
        const done = await r.next('response.done');
        expect(done.response.status).toBe('completed');
        expect((await r.next(names.transcript)).transcript).toMatch(/Sundays/);
        expect(r.events.filter((e) => e.type === 'response.done')).toHaveLength(1);
        expect(errors).toEqual([]);
      } finally {
        rt.close();
      }
    });
  });
}

describe.each(MODES)('the openai GA client on the call-stream endpoint (/v1/calls/:id/stream) with the call\'s client_secret, %s mode', (mode) => {
  it('answers a text turn', async () => {
    const res = await svc.api('/v1/calls', { method: 'POST', json: { business_id: `oc-${mode}` } });
    const call = (await res.json()) as { id: string; client_secret: { value: string } };
    // The same trick as above: the SDK appends '/realtime', which becomes an ignored query parameter.
    const client = new OpenAI({ apiKey: call.client_secret.value, baseURL: `${proxy.url}/v1/calls/${call.id}/stream?` });
    const rt = new OpenAIRealtimeWS({ model: 'gpt-realtime', options: { ca: proxy.ca } }, client);
    const errors: unknown[] = [];
    rt.on('error', (err) => errors.push(err));
    const r = recorder((l) => rt.on('event', (e) => l(e as Event)));
    try {
      expect((await r.next('session.created')).session.type).toBe('realtime');
      rt.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Are you open late?' }] } });
      rt.send({ type: 'response.create' });
      expect((await r.next('response.done')).response.status).toBe('completed');
      expect((await r.next('response.output_audio_transcript.done')).transcript).toMatch(/open late/);
      expect(errors).toEqual([]);
    } finally {
      rt.close();
    }
  });
});

/** The Agents SDK: its tool is client-declared (no business handler), so the client runs it. */
describe.each(MODES)('the Agents SDK (@openai/agents-realtime RealtimeAgent + RealtimeSession, websocket transport), %s mode', (mode) => {
  it("applies the agent's session, calls its client-side tool, speaks the result: one answer per turn, no errors", async () => {
    const calls: unknown[] = [];
    const getWeather = tool({
      name: 'get_weather',
      description: 'The weather in a city.',
      parameters: z.object({ city: z.string() }),
      execute: async ({ city }) => {
        calls.push(city);
        return `Sunny and 21 degrees in ${city}`;
      },
    });
    const agent = new RealtimeAgent({ name: 'Weather', instructions: 'You tell people the weather. Be brief.', voice: 'alloy', tools: [getWeather] });
    const session = new RealtimeSession(agent, { transport: 'websocket', model: 'gpt-realtime' });
    const errors: unknown[] = [];
    session.on('error', (e) => errors.push(e));
    const r = recorder((l) => session.on('transport_event', (e) => l(e as Event)));
    svc.fake.script.chat.push({ tool_calls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] });
    // No TLS here: the transport takes any URL (wss:// is for the openai clients above).
    await session.connect({ apiKey: ADMIN_KEY, url: `${svc.wsUrl}/v1/realtime?business_id=oc-${mode}` });
    try {
      const applied = await r.next('session.updated', (e) => e.session?.instructions === 'You tell people the weather. Be brief.');
      expect(applied.session).toMatchObject({ audio: { output: { voice: 'alloy' } }, tools: [expect.objectContaining({ name: 'get_weather' })] });

      const turnStart = r.events.length;
      session.sendMessage('What is the weather in Paris?');
      const answer = await r.next('response.output_audio_transcript.done', (e) => /Sunny and 21 degrees in Paris/.test(e.transcript), turnStart);
      expect(answer.transcript).toContain('Sunny and 21 degrees in Paris');
      await r.next('response.done', (e) => e.response.output.some((i: Event) => i.type === 'message'), turnStart);
      expect(calls).toEqual(['Paris']);
      // One user turn: the function call ends the first response; the SDK sends the output and
      // response.create, and the second response is the one spoken answer (as OpenAI does it).
      const outputs = r.events.slice(turnStart).filter((e) => e.type === 'response.done').map((e) => e.response.output.map((i: Event) => i.type));
      expect(outputs).toEqual([['function_call'], ['message']]);
      expect(r.events.filter((e) => e.type === 'error')).toEqual([]);
      expect(errors).toEqual([]);
      // The gateway never ran the client's tool.
      expect(r.events.some((e) => e.type === 'response.function_call.done')).toBe(false);
    } finally {
      session.close();
    }
  });
});

describe('the Agents SDK in chained mode: retrieve, interruption and truncation over two turns', () => {
  it('answers each turn once, retrieves the transcribed user item (with its audio), truncates the interrupted answer to what was heard, no errors', async () => {
    const agent = new RealtimeAgent({ name: 'Support', instructions: 'You are the Acme support agent. Be brief.', voice: 'alloy' });
    const session = new RealtimeSession(agent, { transport: 'websocket', model: 'gpt-realtime' });
    const errors: unknown[] = [];
    session.on('error', (e) => errors.push(e));
    const r = recorder((l) => session.on('transport_event', (e) => l(e as Event)));
    await session.connect({ apiKey: ADMIN_KEY, url: `${svc.wsUrl}/v1/realtime?business_id=oc-chained` });
    try {
      await r.next('session.updated', (e) => e.session?.instructions === 'You are the Acme support agent. Be brief.');

      // Turn 1, spoken: once the transcript is in, the SDK retrieves the user item (0.14 always does).
      const turn1 = r.events.length;
      svc.fake.script.transcripts.push('What are your opening hours?');
      const audio = spokenTurn();
      for (let i = 0; i < audio.length; i += 4800) session.sendAudio(toArrayBuffer(audio.subarray(i, i + 4800))); // 100 ms frames, as a microphone sends
      const transcribed = await r.next('conversation.item.input_audio_transcription.completed', () => true, turn1);
      const user = await r.next('conversation.item.retrieved', (e) => e.item.id === transcribed.item_id, turn1);
      expect(user.item).toMatchObject({ type: 'message', role: 'user', content: [{ type: 'input_audio', transcript: 'What are your opening hours?' }] });
      expect(Buffer.from(user.item.content[0].audio, 'base64').length).toBeGreaterThan(24_000); // > 0.5 s of pcm16 24 kHz
      await r.next('response.done', () => true, turn1);

      // Turn 2, typed; the answer streams slowly enough that it is still going when its first audio
      // plays, and the SDK interrupts it there: response.cancel + conversation.item.truncate.
      const turn2 = r.events.length;
      svc.fake.script.delays.llmTokenMs = 40;
      session.once('audio', () => session.interrupt());
      session.sendMessage('Do you open on Sundays?');
      const truncated = await r.next('conversation.item.truncated', () => true, turn2);
      const assistant = await r.next('conversation.item.retrieved', (e) => e.item.id === truncated.item_id, turn2);
      expect(assistant.item).toMatchObject({ type: 'message', role: 'assistant' });
      const done2 = await r.next('response.done', () => true, turn2);
      expect(done2.response.status).toBe('cancelled');
      // What the model will see of that answer is what was heard of it (at most its first sentence).
      const heard = assistant.item.content[0].transcript as string;
      expect('You said: Do you open on Sundays? How can I help further?'.startsWith(heard)).toBe(true);
      expect(heard).not.toContain('How can I help further');

      // One answer per turn, and no error event anywhere.
      for (const [from, to] of [[turn1, turn2], [turn2, r.events.length]] as const) {
        expect(r.events.slice(from, to).filter((e) => e.type === 'response.created')).toHaveLength(1);
      }
      expect(r.events.filter((e) => e.type === 'error')).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      svc.fake.script.delays.llmTokenMs = undefined;
      session.close();
    }
  });
});

function toArrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

describe('a beta upstream that leaves optional session fields out (REALTIME_DIALECT=beta)', () => {
  let old: TestService;
  let oldProxy: TlsProxy;
  beforeAll(async () => {
    old = await startService({ workers: false, env: { REALTIME_API_KEY: 'sk-provider', REALTIME_DIALECT: 'beta' }, fake: { realtimeDialect: 'beta', realtimeOmitSessionFields: ['input_audio_noise_reduction', 'tracing'] } });
    oldProxy = await startTlsProxy(old.url);
    await old.api('/v1/businesses/oc-old', { method: 'PUT', json: { mode: 'realtime', session: { instructions: 'You are the Acme support agent.' } } });
  });
  afterAll(async () => {
    await oldProxy?.close();
    await old?.stop();
  });

  it('confirms the session (the missing fields defaulted) and answers the openai GA client', async () => {
    const client = new OpenAI({ apiKey: ADMIN_KEY, baseURL: `${oldProxy.url}/v1/realtime?business_id=oc-old&` });
    const rt = new OpenAIRealtimeWS({ model: 'gpt-realtime', options: { ca: oldProxy.ca } }, client);
    const errors: unknown[] = [];
    rt.on('error', (err) => errors.push(err));
    const r = recorder((l) => rt.on('event', (e) => l(e as Event)));
    try {
      const created = await r.next('session.created');
      expect(created.session).toMatchObject({ type: 'realtime', instructions: 'You are the Acme support agent.' });
      const up = old.fake.realtimeSessions[0]!;
      expect(up.dialect).toBe('beta');
      const upstreamUpdated = up.serverEvents.find((e) => e.type === 'session.updated') as Event;
      expect(upstreamUpdated.session).not.toHaveProperty('input_audio_noise_reduction');
      rt.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hello there' }] } });
      rt.send({ type: 'response.create' });
      expect((await r.next('response.done')).response.status).toBe('completed');
      expect(errors).toEqual([]);
    } finally {
      rt.close();
    }
  });
});

describe('TwiML, checked with the twilio package', () => {
  async function voiceWebhook(params: Record<string, string>, signature: string) {
    return fetch(`${svc.url}/v1/twilio/voice?business_id=oc-chained`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
      body: new URLSearchParams(params).toString(),
    });
  }

  it('answers a webhook signed by twilio.getExpectedTwilioSignature with a wss:// stream, and refuses a wrong signature', async () => {
    const url = `${svc.url}/v1/twilio/voice?business_id=oc-chained`;
    const params = { CallSid: 'CA0123456789abcdef0123456789abcdef', From: '+15550100', To: '+15550199', AccountSid: 'AC0123456789abcdef0123456789abcdef' };
    const signature = twilio.getExpectedTwilioSignature(TWILIO_TOKEN, url, params);
    expect(twilio.validateRequest(TWILIO_TOKEN, signature, url, params)).toBe(true);

    const res = await voiceWebhook(params, signature);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/xml/);
    const xml = await res.text();
    const stream = /<Stream url="([^"]+)"/.exec(xml)?.[1];
    expect(stream).toBe(`${svc.url.replace(/^http:/, 'wss:')}/v1/twilio/media-stream`);
    // The same document as twilio's own builder makes for that stream (parameters aside).
    const built = new twilio.twiml.VoiceResponse();
    built.connect({ action: `${svc.url}/v1/twilio/stream-ended?business_id=oc-chained` }).stream({ url: stream! });
    const shape = (s: string) => s.replace(/<Parameter [^>]*\/>/g, '').replace(/<Stream ([^>]*)><\/Stream>/, '<Stream $1/>').replace(/\s+/g, '');
    expect(shape(xml)).toBe(shape(built.toString()));

    expect((await voiceWebhook(params, twilio.getExpectedTwilioSignature('another-token', url, params))).status).toBe(403);
  });
});
