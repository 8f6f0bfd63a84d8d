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

describe('realtime', () => {
  const BETA = { headers: { 'OpenAI-Beta': 'realtime=v1' } };
  const openClients: RealtimeTestClient[] = [];
  afterEach(async () => {
    await Promise.all(openClients.splice(0).map((c) => c.close()));
  });

  async function connect(options: Parameters<typeof RealtimeTestClient.connect>[1] = {}, url = `${fake.realtimeUrl}?model=gpt-realtime`): Promise<RealtimeTestClient> {
    const c = await RealtimeTestClient.connect(url, options);
    openClients.push(c);
    await c.next('session.created');
    return c;
  }

  function userText(text: string): Record<string, unknown> {
    return { type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text }] } };
  }

  it('GA: applies a nested session.update and answers a spoken turn in OpenAI\'s order', async () => {
    const c = await connect();
    expect(c.received[0]?.session).toMatchObject({ type: 'realtime', audio: { output: { voice: 'alloy' } } });
    c.send({
      type: 'session.update',
      session: { type: 'realtime', instructions: 'Be brief.', audio: { input: { transcription: { model: 'whisper-1' }, turn_detection: { type: 'server_vad', silence_duration_ms: 300 } }, output: { voice: 'marin' } } },
    });
    const updated = await c.next('session.updated');
    expect(updated.session).toMatchObject({
      instructions: 'Be brief.',
      output_modalities: ['audio'],
      audio: { input: { format: { type: 'audio/pcm', rate: 24000 }, turn_detection: { silence_duration_ms: 300, threshold: 0.5 } }, output: { voice: 'marin' } },
    });

    c.appendAudio(spokenTurn());
    const started = await c.next('input_audio_buffer.speech_started');
    const done = await c.next('response.done');
    const types = c.between(started, done).map((e) => e.type);
    const order = [
      'input_audio_buffer.speech_started', 'input_audio_buffer.speech_stopped', 'input_audio_buffer.committed',
      'conversation.item.added', 'conversation.item.done', 'conversation.item.input_audio_transcription.completed',
      'response.created', 'rate_limits.updated', 'response.output_item.added', 'conversation.item.added',
      'response.content_part.added', 'response.output_audio_transcript.delta', 'response.output_audio.delta',
      'response.output_audio.done', 'response.output_audio_transcript.done', 'response.content_part.done',
      'response.output_item.done', 'conversation.item.done', 'response.done',
    ];
    // Every non-delta event exactly in docs/PROTOCOLS.md §1.6 order; the deltas interleave between the part events.
    expect(types.filter((t) => !t.endsWith('.delta'))).toEqual(order.filter((t) => !t.endsWith('.delta')));
    const firstDelta = types.findIndex((t) => t.endsWith('.delta'));
    const lastDelta = types.length - 1 - [...types].reverse().findIndex((t) => t.endsWith('.delta'));
    expect(types[firstDelta - 1]).toBe('response.content_part.added');
    expect(types[lastDelta + 1]).toBe('response.output_audio.done');
    expect(new Set(types.slice(firstDelta, lastDelta + 1))).toEqual(new Set(['response.output_audio_transcript.delta', 'response.output_audio.delta']));
    expect(started.audio_start_ms).toBe(0);
    const stopped = c.received.find((e) => e.type === 'input_audio_buffer.speech_stopped');
    expect(stopped?.audio_end_ms).toBeGreaterThanOrEqual(900);
    expect(stopped?.item_id).toBe(started.item_id);

    const transcript = c.received.find((e) => e.type === 'response.output_audio_transcript.done')?.transcript;
    expect(transcript).toBe('You said: Hello, I would like some help. How can I help further?');
    const audio = decodeBase64Audio(c.received.filter((e) => e.type === 'response.output_audio.delta'));
    expect(audio.length).toBe(24 * 40 * String(transcript).length);
    expect(rms(audio)).toBeGreaterThan(0.05);
    expect(done.response).toMatchObject({ status: 'completed', status_details: null, usage: { output_token_details: { audio_tokens: expect.any(Number) } } });
  });

  it('beta: negotiates with the OpenAI-Beta header and uses flat sessions and beta event names', async () => {
    const c = await connect(BETA);
    await c.next('conversation.created');
    c.send({ type: 'session.update', session: { voice: 'verse', input_audio_transcription: { model: 'whisper-1' }, turn_detection: { type: 'server_vad' } } });
    const updated = await c.next('session.updated');
    expect(updated.session).toMatchObject({ voice: 'verse', modalities: ['text', 'audio'], input_audio_format: 'pcm16', turn_detection: { type: 'server_vad', silence_duration_ms: 500 } });
    expect(updated.session.audio).toBeUndefined();

    fake.script.transcripts.push('What are your opening hours?');
    c.appendAudio(spokenTurn());
    const userItem = await c.next('conversation.item.created');
    expect(userItem.item).toMatchObject({ role: 'user', content: [{ type: 'input_audio', transcript: null }] });
    const heard = await c.next('conversation.item.input_audio_transcription.completed');
    expect(heard.transcript).toBe('What are your opening hours?');
    await c.next('response.audio.delta');
    const transcript = await c.next('response.audio_transcript.done');
    expect(transcript.transcript).toBe('You said: What are your opening hours. How can I help further?');
    await c.next('response.done');
    expect(fake.realtimeSessions.at(-1)?.dialect).toBe('beta');
    expect(c.received.some((e) => e.type.startsWith('response.output_audio'))).toBe(false);
  });

  it('beta: negotiates with the openai-beta.realtime-v1 subprotocol and selects "realtime"', async () => {
    const c = await connect({ protocols: ['realtime', 'openai-insecure-api-key.test', 'openai-beta.realtime-v1'] });
    expect(c.ws.protocol).toBe('realtime');
    await c.next('conversation.created');
    expect(fake.realtimeSessions.at(-1)).toMatchObject({ dialect: 'beta', protocols: ['realtime', 'openai-insecure-api-key.test', 'openai-beta.realtime-v1'] });
  });

  for (const dialect of ['ga', 'beta'] as const) {
    it(`${dialect}: runs a tool call round trip from the chat script`, async () => {
      const c = await connect(dialect === 'beta' ? BETA : {});
      const tools = [{ type: 'function', name: 'lookup_customer', parameters: { type: 'object', properties: { phone_number: { type: 'string' } } } }];
      c.send({ type: 'session.update', session: dialect === 'ga' ? { type: 'realtime', tools } : { tools } });
      await c.next('session.updated');
      fake.script.chat.push({ tool_calls: [{ name: 'lookup_customer', arguments: { phone_number: '+15550100' } }] });
      c.send(userText('Who am I?'));
      c.send({ type: 'response.create' });

      const added = await c.next('response.output_item.added');
      expect(added.item).toMatchObject({ type: 'function_call', name: 'lookup_customer', status: 'in_progress' });
      const argsDone = await c.next('response.function_call_arguments.done');
      expect(JSON.parse(argsDone.arguments)).toEqual({ phone_number: '+15550100' });
      if (dialect === 'ga') expect(argsDone.name).toBe('lookup_customer');
      else expect(argsDone).not.toHaveProperty('name');
      const first = await c.next('response.done');
      expect(first.response.output[0]).toMatchObject({ type: 'function_call', status: 'completed', call_id: argsDone.call_id });
      expect(c.received.filter((e) => e.type === 'response.function_call_arguments.delta').length).toBeGreaterThan(1);

      c.send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: argsDone.call_id, output: '{"name":"Jane"}' } });
      await c.next(dialect === 'ga' ? 'conversation.item.added' : 'conversation.item.created', (e) => e.item.type === 'function_call_output');
      c.send({ type: 'response.create' });
      const second = await c.next('response.done');
      expect(second.response.output[0].content[0].transcript).toBe('Here is what I found: {"name":"Jane"}.');
    });
  }

  it('answers text-only sessions with text events', async () => {
    const c = await connect();
    c.send({ type: 'session.update', session: { type: 'realtime', output_modalities: ['text'] } });
    await c.next('session.updated');
    c.send(userText('Hi'));
    c.send({ type: 'response.create' });
    const text = await c.next('response.output_text.done');
    expect(text.text).toBe('You said: Hi. How can I help further?');
    await c.next('response.done');
    expect(c.received.some((e) => e.type === 'response.output_audio.delta')).toBe(false);
  });

  it('cancels a running response on response.cancel, and errors when nothing is running', async () => {
    fake.script.delays.realtimeFirstDeltaMs = 60_000;
    const c = await connect();
    c.send(userText('Tell me a story'));
    c.send({ type: 'response.create' });
    await c.next('response.created');
    c.send({ type: 'response.cancel' });
    const done = await c.next('response.done');
    expect(done.response).toMatchObject({ status: 'cancelled', status_details: { type: 'cancelled', reason: 'client_cancelled' } });
    const closedItem = c.received.find((e) => e.type === 'response.output_item.done');
    expect(closedItem?.item.status).toBe('incomplete');

    c.send({ type: 'response.cancel', event_id: 'evt_client_1' });
    const error = await c.next('error');
    expect(error.error).toMatchObject({ code: 'response_cancel_not_active', event_id: 'evt_client_1' });
  });

  it('cancels the running response with turn_detected when the caller starts speaking, then answers the new turn', async () => {
    fake.script.delays.realtimeFirstDeltaMs = 60_000;
    const c = await connect();
    c.send(userText('Tell me a story'));
    c.send({ type: 'response.create' });
    await c.next('response.created');
    c.appendAudio(samplesToBuffer(tone(600)));
    await c.next('input_audio_buffer.speech_started');
    const cancelled = await c.next('response.done');
    expect(cancelled.response.status_details).toEqual({ type: 'cancelled', reason: 'turn_detected' });
    fake.script.delays.realtimeFirstDeltaMs = 0;
    c.appendAudio(samplesToBuffer(silence(800)));
    await c.next('input_audio_buffer.committed');
    const next = await c.next('response.done');
    expect(next.response.status).toBe('completed');
  });

  it('truncates an assistant item\'s audio and rejects a past-the-end audio_end_ms', async () => {
    const c = await connect();
    c.send(userText('Hi'));
    c.send({ type: 'response.create' });
    const done = await c.next('response.done');
    const itemId = done.response.output[0].id as string;
    c.send({ type: 'conversation.item.truncate', item_id: itemId, content_index: 0, audio_end_ms: 999_999 });
    expect((await c.next('error')).error.code).toBe('invalid_value');
    c.send({ type: 'conversation.item.truncate', item_id: itemId, content_index: 0, audio_end_ms: 300 });
    expect(await c.next('conversation.item.truncated')).toMatchObject({ item_id: itemId, content_index: 0, audio_end_ms: 300 });
  });

  it('answers bad events with invalid_event errors and keeps the session open', async () => {
    const c = await connect();
    c.ws.send('not json');
    expect((await c.next('error')).error.code).toBe('invalid_event');
    c.send({ type: 'response.interrupt' });
    expect((await c.next('error')).error.code).toBe('invalid_event');
    c.send({ type: 'input_audio_buffer.commit' });
    expect((await c.next('error')).error.code).toBe('input_audio_buffer_commit_empty');
    c.send({ type: 'session.update', session: { type: 'realtime', instructions: 'still here' } });
    expect((await c.next('session.updated')).session.instructions).toBe('still here');
  });

  it('rejects beta-only session fields on a GA connection as unknown parameters', async () => {
    const c = await connect();
    c.send({ type: 'session.update', session: { type: 'realtime', modalities: ['text', 'audio'] } });
    expect((await c.next('error')).error).toMatchObject({ code: 'unknown_parameter', param: 'session.modalities' });
    c.send({ type: 'session.update', session: { instructions: 'no type' } });
    expect((await c.next('error')).error).toMatchObject({ code: 'missing_required_parameter', param: 'session.type' });
  });

  it('speaks and listens in g711_ulaw at 8 bytes per millisecond', async () => {
    const c = await connect(BETA);
    c.send({ type: 'session.update', session: { input_audio_format: 'g711_ulaw', output_audio_format: 'g711_ulaw' } });
    await c.next('session.updated');
    const narrow = downsample24kTo8k(concatSamples(tone(600), silence(800)));
    c.appendAudio(Buffer.from(Array.from(narrow, ulawEncodeSample)), 160);
    await c.next('input_audio_buffer.speech_stopped');
    const transcript = (await c.next('response.audio_transcript.done')).transcript as string;
    const deltas = c.received.filter((e) => e.type === 'response.audio.delta');
    const bytes = deltas.reduce((n, e) => n + Buffer.from(String(e.delta), 'base64').length, 0);
    expect(bytes).toBe(8 * 40 * transcript.length);
    expect(rms(decodeBase64Audio(deltas, 'g711_ulaw'))).toBeGreaterThan(0.05);
  });

  it('drops every realtime connection with the given close code', async () => {
    const c = await connect();
    fake.dropRealtimeConnections(1011);
    expect((await c.closed).code).toBe(1011);
  });

  it('fails the handshake with a scripted realtime failure', async () => {
    fake.script.failures.push({ endpoint: 'realtime', status: 503, times: 1 });
    await expect(RealtimeTestClient.connect(fake.realtimeUrl)).rejects.toThrow('HTTP 503');
  });
});

describe('realtime with the GA dialect forced', () => {
  it('rejects a beta client with beta_api_shape_disabled and close code 4000, as OpenAI does', async () => {
    const ga = await startFakeOpenAI({ realtimeDialect: 'ga' });
    try {
      const c = await RealtimeTestClient.connect(`${ga.realtimeUrl}?model=gpt-realtime`, { headers: { 'OpenAI-Beta': 'realtime=v1' } });
      const error = await c.next('error');
      expect(error.error.code).toBe('beta_api_shape_disabled');
      expect((await c.closed).code).toBe(4000);
    } finally {
      await ga.close();
    }
  });
});
