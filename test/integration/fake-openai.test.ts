import { once } from 'node:events';
import OpenAI, { toFile } from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server';
import { RealtimeTestClient, type ServerEvent } from '../fakes/realtime-client';
import { bufferToSamples, concatSamples, decodeAudio, rms, samplesToBuffer, silence, tone, toWav, ulawEncodeSample, downsample24kTo8k } from '../fakes/synth';

let fake: FakeOpenAI;
let client: OpenAI;

beforeAll(async () => {
  fake = await startFakeOpenAI();
  client = new OpenAI({ baseURL: fake.url, apiKey: 'test', maxRetries: 0 });
});
afterEach(() => fake.reset());
afterAll(() => fake.close());

/** A 600 ms tone burst followed by 800 ms of silence, as 24 kHz pcm16. */
function spokenTurn(): Buffer {
  return samplesToBuffer(concatSamples(tone(600), silence(800)));
}

function decodeBase64Audio(events: ServerEvent[], format: 'pcm16' | 'g711_ulaw' = 'pcm16'): Int16Array {
  return concatSamples(...events.map((e) => decodeAudio(Buffer.from(String(e.delta), 'base64'), format)));
}

describe('chat completions', () => {
  it('streams text and parallel tool calls that the openai client reassembles by index', async () => {
    fake.script.chat.push({
      text: 'Let me look that up.',
      tool_calls: [
        { name: 'lookup_customer', arguments: { phone_number: '+15550100' } },
        { name: 'create_ticket', arguments: '{"summary":"late order"}', id: 'call_fixed' },
      ],
    });
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Where is my order?' }],
      stream: true,
      stream_options: { include_usage: true },
      tools: [{ type: 'function', function: { name: 'lookup_customer', parameters: { type: 'object', properties: {} } } }],
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);

    expect(chunks[0]?.choices[0]?.delta).toEqual({ role: 'assistant' });
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe('Let me look that up.');
    expect(chunks.filter((c) => c.choices[0]?.delta.content).length).toBeGreaterThan(3);

    const calls: { id?: string; name?: string; args: string; fragments: number }[] = [];
    for (const chunk of chunks) {
      for (const d of chunk.choices[0]?.delta.tool_calls ?? []) {
        const call = (calls[d.index] ??= { args: '', fragments: 0 });
        if (d.id) call.id = d.id;
        if (d.function?.name) call.name = d.function.name;
        call.args += d.function?.arguments ?? '';
        call.fragments += 1;
      }
    }
    expect(calls.map((c) => c.name)).toEqual(['lookup_customer', 'create_ticket']);
    expect(JSON.parse(calls[0]?.args ?? '')).toEqual({ phone_number: '+15550100' });
    expect(calls[1]?.id).toBe('call_fixed');
    expect(calls.every((c) => c.fragments >= 3)).toBe(true);

    const finish = chunks.find((c) => c.choices[0]?.finish_reason);
    expect(finish?.choices[0]?.finish_reason).toBe('tool_calls');
    const last = chunks[chunks.length - 1];
    expect(last?.choices).toEqual([]);
    expect(last?.usage?.total_tokens).toBeGreaterThan(0);
  });

  it('echoes the last user message by default, in two sentences', async () => {
    const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'I need help!' }] });
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0]?.message.content).toBe('You said: I need help. How can I help further?');
    expect(completion.choices[0]?.finish_reason).toBe('stop');
  });

  it('answers a tool result with "Here is what I found" by default', async () => {
    const completion = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'user', content: 'Who am I?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup_customer', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: '{"name":"Jane"}' },
      ],
    });
    expect(completion.choices[0]?.message.content).toBe('Here is what I found: {"name":"Jane"}.');
  });

  it('rejects a tool call left without its tool message with a 400', async () => {
    const request = client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        { role: 'user', content: 'hello?' },
      ],
    });
    await expect(request).rejects.toMatchObject({ status: 400, type: 'invalid_request_error' });
  });

  it('retries a scripted 429 through the client\'s own retries, then succeeds', async () => {
    fake.script.failures.push({ endpoint: 'chat', status: 429, times: 1 });
    const retrying = new OpenAI({ baseURL: fake.url, apiKey: 'test', maxRetries: 2 });
    const completion = await retrying.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(completion.choices[0]?.message.content).toContain('You said: hi');
    expect(fake.requests.map((r) => r.status)).toEqual([429, 200]);
  });

  it('returns the real error shape with retry-after on a 429 once retries run out', async () => {
    fake.script.failures.push({ endpoint: 'chat', status: 429, times: 1, headers: { 'retry-after': '7' } });
    const error = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const apiError = error as InstanceType<typeof OpenAI.RateLimitError>;
    expect(apiError.code).toBe('rate_limit_exceeded');
    expect(apiError.headers.get('retry-after')).toBe('7');
    expect(apiError.error).toMatchObject({ type: 'requests', param: null, code: 'rate_limit_exceeded' });
  });

  it('returns a 500 server_error that is not consumed by other endpoints', async () => {
    fake.script.failures.push({ endpoint: 'chat', status: 500, times: 1 });
    await client.audio.speech.create({ model: 'tts-1', input: 'ok', voice: 'alloy', response_format: 'pcm' }).then((r) => r.arrayBuffer());
    await expect(client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }))
      .rejects.toMatchObject({ status: 500, code: 'server_error', type: 'server_error' });
  });

  it('records the abort when the client stops a stream part-way', async () => {
    fake.script.chat.push({ text: 'This is a long answer that keeps going for quite a while, sentence after sentence.' });
    fake.script.delays.llmTokenMs = 20;
    const controller = new AbortController();
    const aborted = once(fake.events, 'request:aborted');
    const stream = await client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'talk' }], stream: true },
      { signal: controller.signal },
    );
    let pieces = 0;
    // The openai client ends an aborted stream quietly.
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content && ++pieces === 2) controller.abort();
    }
    await aborted;
    expect(pieces).toBeLessThan(5);
    expect(fake.requests[0]?.aborted).toBe(true);
    expect(fake.requests[0]?.completed).toBeUndefined();
  });

  it('drops the socket mid-stream when a midStream failure is scripted, keeping the scripted reply for the retry', async () => {
    fake.script.failures.push({ endpoint: 'chat', status: 500, times: 1, midStream: true });
    fake.script.chat.push({ text: 'Scripted answer.' });
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let partial = '';
    await expect((async () => {
      for await (const chunk of stream) partial += chunk.choices[0]?.delta.content ?? '';
    })()).rejects.toThrow();
    expect(partial.length).toBeGreaterThan(0);
    const retry = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(retry.choices[0]?.message.content).toBe('Scripted answer.');
  });
});

describe('transcriptions', () => {
  const wav = toWav(concatSamples(tone(500), silence(500)));

  it('transcribes an uploaded WAV from the transcripts queue, then with the default text', async () => {
    fake.script.transcripts.push('Where is my order?');
    const first = await client.audio.transcriptions.create({ file: await toFile(wav, 'a.wav'), model: 'whisper-1', language: 'en' });
    const second = await client.audio.transcriptions.create({ file: await toFile(wav, 'a.wav'), model: 'whisper-1' });
    expect(first.text).toBe('Where is my order?');
    expect(second.text).toBe('Hello, I would like some help.');
    expect(fake.requests[0]?.body).toMatchObject({ fields: { model: 'whisper-1', language: 'en' }, file: { name: 'a.wav', size: wav.length } });
  });

  it('answers verbose_json with a segment and the duration from the WAV header', async () => {
    const result = await client.audio.transcriptions.create({ file: await toFile(wav, 'turn.wav'), model: 'whisper-1', response_format: 'verbose_json' });
    expect(result.duration).toBeCloseTo(1, 2);
    expect(result.segments?.[0]).toMatchObject({ id: 0, start: 0, text: ' Hello, I would like some help.' });
  });

  it('answers response_format text with a plain body', async () => {
    fake.script.transcribe = (req) => `heard ${req.file.name}`;
    const text = await client.audio.transcriptions.create({ file: await toFile(wav, 'b.wav'), model: 'whisper-1', response_format: 'text' });
    expect(text).toBe('heard b.wav\n');
  });

  it('rejects a request without a file with a 400 invalid_request_error', async () => {
    const form = new FormData();
    form.set('model', 'whisper-1');
    const res = await fetch(`${fake.url}/audio/transcriptions`, { method: 'POST', body: form });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { type: 'invalid_request_error', param: 'file' } });
  });
});

describe('speech', () => {
  async function speak(input: string, voice: string): Promise<{ audio: Buffer; chunkSizes: number[] }> {
    const response = await client.audio.speech.create({ model: 'tts-1', input, voice, response_format: 'pcm' });
    const chunkSizes: number[] = [];
    const parts: Buffer[] = [];
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      chunkSizes.push(chunk.length);
      parts.push(Buffer.from(chunk));
    }
    return { audio: Buffer.concat(parts), chunkSizes };
  }

  it('streams deterministic, non-silent 24 kHz pcm lasting msPerChar per character, split at odd byte offsets', async () => {
    const input = 'Thanks for calling. How can I help?';
    const a = await speak(input, 'nova');
    const b = await speak(input, 'nova');
    expect(a.audio.length).toBe(2 * 24 * 40 * input.length);
    expect(a.audio.equals(b.audio)).toBe(true);
    expect(rms(bufferToSamples(a.audio))).toBeGreaterThan(0.05);
    const offsets = a.chunkSizes.map((_, i) => a.chunkSizes.slice(0, i + 1).reduce((x, y) => x + y, 0));
    expect(offsets.some((o) => o % 2 === 1)).toBe(true);
  });

  it('gives each voice its own sound and follows script.speech.msPerChar', async () => {
    fake.script.speech.msPerChar = 10;
    const nova = await speak('Hello there.', 'nova');
    const onyx = await speak('Hello there.', 'onyx');
    expect(nova.audio.length).toBe(2 * 24 * 10 * 'Hello there.'.length);
    expect(nova.audio.equals(onyx.audio)).toBe(false);
  });

  it('wraps wav output in a RIFF header', async () => {
    const response = await client.audio.speech.create({ model: 'tts-1', input: 'Hi.', voice: 'alloy', response_format: 'wav' });
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(bytes.toString('ascii', 0, 4)).toBe('RIFF');
    expect(bytes.readUInt32LE(24)).toBe(24000);
    expect(bytes.length).toBe(44 + 2 * 24 * 40 * 3);
  });

  it('rejects a realtime-only voice and input over 4096 characters with a 400', async () => {
    await expect(client.audio.speech.create({ model: 'tts-1', input: 'Hi', voice: 'nope' as 'alloy', response_format: 'pcm' }))
      .rejects.toMatchObject({ status: 400, param: 'voice' });
    await expect(client.audio.speech.create({ model: 'tts-1', input: 'x'.repeat(4097), voice: 'alloy', response_format: 'pcm' }))
      .rejects.toMatchObject({ status: 400, param: 'input' });
  });
});
