/**
 * The built-in local provider (src/local-provider), what `npm start` runs with no provider key:
 * through the official `openai` client it speaks real speech (eSpeak NG, not a tone), transcribes
 * honestly (it has no speech model), and streams rule-based answers with tool calls the client
 * parses; and the whole service on it answers a typed turn with the support tools and real audio.
 */
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { NO_SPEECH_RECOGNITION, NO_STT_ANSWER } from '../../src/local-provider/answers';
import { NO_REALTIME_MESSAGE, startLocalProvider, type LocalProvider } from '../../src/local-provider/server';
import { CUSTOMER_SUPPORT_TOOLS } from '../../src/tools/customer-support';
import { startLocalDemo, type LocalDemo } from '../helpers/local-demo';
import { bufferToSamples, concatSamples, silence, synthesize, tone, toWav } from '../fakes/synth';

const TOOLS = CUSTOMER_SUPPORT_TOOLS.map((t) => ({ type: 'function' as const, function: { name: t.name, description: t.description, parameters: t.parameters } }));

/**
 * How much the spectrum moves over an utterance: the spread (standard deviation, Hz) of the
 * spectral centroid of its 20 ms frames that are not silent, the count of hissy frames (centroid
 * above 2.5 kHz: the s, f, sh of real words) and of silent ones (pauses between words).
 * A tone has one centroid; words alternate vowels, fricatives and pauses.
 */
function spectralVariety(samples: Int16Array, rate = 24_000) {
  const n = Math.round(rate / 50);
  const bins = 220; // up to 11 kHz
  const hann = Array.from({ length: n }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1)));
  const cos = Array.from({ length: n }, (_, i) => Math.cos((2 * Math.PI * i) / n));
  const sin = Array.from({ length: n }, (_, i) => Math.sin((2 * Math.PI * i) / n));
  const centroids: number[] = [];
  let silent = 0;
  for (let start = 0; start + n <= samples.length; start += n) {
    let energy = 0;
    for (let i = 0; i < n; i++) energy += ((samples[start + i] ?? 0) / 32768) ** 2;
    if (Math.sqrt(energy / n) < 0.01) {
      silent++;
      continue;
    }
    let weighted = 0;
    let total = 0;
    const frame = Array.from({ length: n }, (_, i) => (samples[start + i] ?? 0) * hann[i]!);
    for (let k = 1; k <= bins; k++) {
      let re = 0;
      let im = 0;
      for (let i = 0; i < n; i++) {
        const at = (k * i) % n;
        re += frame[i]! * cos[at]!;
        im -= frame[i]! * sin[at]!;
      }
      const power = re * re + im * im;
      weighted += power * ((k * rate) / n);
      total += power;
    }
    centroids.push(weighted / total);
  }
  const mean = centroids.reduce((a, b) => a + b, 0) / centroids.length;
  const spreadHz = Math.sqrt(centroids.reduce((a, c) => a + (c - mean) ** 2, 0) / centroids.length);
  return { spreadHz, hissy: centroids.filter((c) => c > 2500).length, silent, sounding: centroids.length };
}

describe('local provider through the official openai client', () => {
  let local: LocalProvider;
  let client: OpenAI;
  beforeAll(async () => {
    local = await startLocalProvider();
    client = new OpenAI({ baseURL: local.url, apiKey: 'local', maxRetries: 0 });
  });
  afterAll(async () => {
    await local?.close();
  });

  it('speaks real words: 24 kHz PCM16 whose spectrum moves like speech, unlike a tone or the fake voice', async () => {
    const response = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'Yes, this is the local demo provider. Say your phone number, please.', response_format: 'pcm' });
    expect(response.headers.get('content-type')).toBe('audio/pcm');
    const speech = bufferToSamples(Buffer.from(await response.arrayBuffer()));
    expect(speech.length / 24_000).toBeGreaterThan(2); // a dozen words, not a blip

    const words = spectralVariety(speech);
    const sine = spectralVariety(tone(2000));
    const fakeVoice = spectralVariety(synthesize({ voice: 'alloy', durationMs: 2000 }));
    expect(words.sounding).toBeGreaterThan(50);
    expect(words.spreadHz).toBeGreaterThan(400);
    expect(words.spreadHz).toBeGreaterThan(4 * Math.max(sine.spreadHz, fakeVoice.spreadHz));
    expect(words.hissy).toBeGreaterThan(2); // "Yes", "this", "Say", "please"
    expect(sine.hissy + fakeVoice.hissy).toBe(0);
    expect(words.silent).toBeGreaterThan(0); // the pause at the full stop
  });

  it('gives longer text longer speech, and another voice other samples; wav carries a 24 kHz RIFF header', async () => {
    const pcm = async (input: string, voice: 'alloy' | 'nova') =>
      Buffer.from(await (await client.audio.speech.create({ model: 'tts-1', voice, input, response_format: 'pcm' })).arrayBuffer());
    const short = await pcm('Hello.', 'alloy');
    const long = await pcm('Hello. I can look up your account, open a ticket, or get you a person.', 'alloy');
    expect(long.length).toBeGreaterThan(3 * short.length);
    expect((await pcm('Hello.', 'nova')).equals(short)).toBe(false);

    const wav = Buffer.from(await (await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'Hello.', response_format: 'wav' })).arrayBuffer());
    expect(wav.toString('ascii', 0, 4)).toBe('RIFF');
    expect(wav.readUInt32LE(24)).toBe(24_000);
    expect(wav.readUInt32LE(40)).toBe(wav.length - 44);
    expect(Math.abs(wav.length - 44 - short.length)).toBeLessThan(short.length / 5); // eSpeak varies a little between runs
  });

  it('transcribes any audio as the honest marker, in every response format', async () => {
    const wav = toWav(concatSamples(synthesize({ voice: 'alloy', durationMs: 800 }), silence(200)));
    const json = await client.audio.transcriptions.create({ file: await toFile(wav, 'turn.wav'), model: 'whisper-1' });
    expect(json.text).toBe(NO_SPEECH_RECOGNITION);
    const text = await client.audio.transcriptions.create({ file: await toFile(wav, 'turn.wav'), model: 'whisper-1', response_format: 'text' });
    expect(text).toBe(`${NO_SPEECH_RECOGNITION}\n`);
  });

  it('answers the marker with how to get real transcription', async () => {
    const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: NO_SPEECH_RECOGNITION }], tools: TOOLS });
    expect(completion.choices[0]?.message.content).toBe(NO_STT_ANSWER);
    expect(completion.choices[0]?.finish_reason).toBe('stop');
  });

  it('streams a rule-based tool call that the client assembles (text first, then the call)', async () => {
    const stream = client.chat.completions.stream({
      model: 'gpt-4o-mini',
      messages: [{ role: 'system', content: 'You are a support agent.' }, { role: 'user', content: 'Hi, my number is +1 555 010 0123.' }],
      tools: TOOLS,
      stream_options: { include_usage: true },
    });
    const deltas: string[] = [];
    stream.on('content', (delta) => deltas.push(delta));
    const completion = await stream.finalChatCompletion();
    const message = completion.choices[0]?.message;
    expect(deltas.length).toBeGreaterThan(1);
    expect(message?.content).toBe('Let me look up that number.');
    expect(completion.choices[0]?.finish_reason).toBe('tool_calls');
    expect(message?.tool_calls).toHaveLength(1);
    const call = message!.tool_calls![0]!;
    expect(call.type === 'function' && call.function.name).toBe('lookup_customer');
    expect(call.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ phone_number: '+15550100123' });
    expect(completion.usage?.total_tokens).toBeGreaterThan(0);
  });

  it('refuses a realtime session with an error event that says why', async () => {
    const ws = new WebSocket(local.realtimeUrl.replace('ws:', 'ws:') + '?model=gpt-realtime');
    const first = await new Promise<{ type: string; error: { code: string; message: string } }>((resolve, reject) => {
      ws.once('message', (data) => resolve(JSON.parse(String(data))));
      ws.once('error', reject);
    });
    expect(first.type).toBe('error');
    expect(first.error).toMatchObject({ code: 'realtime_unavailable', message: NO_REALTIME_MESSAGE });
    const code = await new Promise<number>((resolve) => ws.once('close', resolve));
    expect(code).toBe(1011);
  });
});

describe('npm start on the local provider: the demo business answers', () => {
  let demo: LocalDemo;
  let url: string;
  const api = (path: string, init: RequestInit = {}) =>
    fetch(url + path, { ...init, headers: { authorization: 'Bearer test-admin-key-0123456789', ...init.headers } });

  beforeAll(async () => {
    demo = await startLocalDemo('test-admin-key-0123456789');
    expect(demo.loaded.localProvider).toBe(true);
    url = demo.url;
  });
  afterAll(() => demo?.stop());

  async function newCall(): Promise<string> {
    const res = await api('/v1/calls', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ business_id: 'demo' }) });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  }

  it('a spoken turn gets the honest transcript, the explanation, and spoken audio', async () => {
    const call = await newCall();
    const wav = toWav(concatSamples(synthesize({ voice: 'alloy', durationMs: 1200 }), silence(300)));
    const res = await api(`/v1/calls/${call}/turns`, { method: 'POST', headers: { 'content-type': 'audio/wav' }, body: new Uint8Array(wav) });
    expect(res.status).toBe(200);
    const turn = (await res.json()) as { transcript: string; response_text: string; audio_url: string };
    expect(turn.transcript).toBe(NO_SPEECH_RECOGNITION);
    expect(turn.response_text).toBe(NO_STT_ANSWER);
    const audio = await api(new URL(turn.audio_url).pathname);
    const answer = bufferToSamples(Buffer.from(await audio.arrayBuffer()).subarray(44));
    expect(answer.length / 24_000).toBeGreaterThan(5); // three sentences
    expect(spectralVariety(answer.subarray(0, 3 * 24_000)).spreadHz).toBeGreaterThan(400);
  });

  it('a typed phone number looks the customer up with the builtin tool and says who it found', async () => {
    const call = await newCall();
    const events = await api(`/v1/calls/${call}/events`);
    const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader();
    const posted = await api(`/v1/calls/${call}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        { type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'My number is 555-010-0123' }] } },
        { type: 'response.create' },
      ]),
    });
    expect(posted.status).toBeLessThan(300);
    let seen = '';
    while (!seen.includes('I found you: Jane Doe')) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += value;
    }
    await reader.cancel();
    expect(seen).toContain('"name":"lookup_customer"');
    expect(seen).toContain('I found you: Jane Doe, account A-1001.');
    expect(seen).toMatch(/response\.output_audio\.delta|response\.audio\.delta/);
  });
});
