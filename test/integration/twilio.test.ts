/**
 * Twilio: the voice webhook's TwiML and signature check, and simulated phone calls over the
 * media-stream WebSocket — Twilio's message sequence with 160-byte μ-law frames every 20 ms (real
 * timers), a spoken reply in paced frames with marks, clear on barge-in, DTMF, stop and hang-up.
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ulawEncode } from '../../src/core/audio/g711';
import { twilioSignature, streamToken } from '../../src/core/twilio/signature';
import { loadWavFixture } from '../fixtures';
import { serviceWithAcme, SIMPLE_BUSINESS, startService, type TestService } from '../helpers/service';

const svc = serviceWithAcme({ env: { TWILIO_INSECURE_DEV: '1' } });

type Msg = { event: string; [k: string]: any };
const SILENCE = new Uint8Array(160).fill(0xff);

/** "What are your opening hours?" at 8 kHz μ-law, with the fixture's trailing silence. */
function spokenUlaw(): Uint8Array {
  const { pcm, rate } = loadWavFixture('hours_8k.wav');
  expect(rate).toBe(8000);
  return ulawEncode(pcm);
}

/** Plays Twilio's side of a call: paced inbound frames (silence between utterances), marks echoed as played. */
class FakeTwilioCall {
  readonly received: Msg[] = [];
  readonly callSid = `CA${Math.random().toString(16).slice(2, 14)}`;
  private pending: Uint8Array[] = [];
  private timer: NodeJS.Timeout | null = null;
  private seq = 1;
  private chunk = 0;
  private waiters: { match: (m: Msg) => boolean; resolve: (m: Msg) => void }[] = [];
  readonly closed: Promise<number>;

  constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as Msg;
      this.received.push(m);
      if (m.event === 'mark') this.send({ event: 'mark', streamSid: 'MZ1', mark: { name: m.mark.name } }); // played
      this.waiters = this.waiters.filter((w) => !(w.match(m) && (w.resolve(m), true)));
    });
    this.closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  }

  static async dial(params: Record<string, string>): Promise<FakeTwilioCall> {
    const ws = new WebSocket(`${svc.wsUrl}/v1/twilio/media-stream`);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const call = new FakeTwilioCall(ws);
    call.send({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    call.send({
      event: 'start',
      sequenceNumber: String(call.seq++),
      streamSid: 'MZ1',
      start: { streamSid: 'MZ1', accountSid: 'AC1', callSid: call.callSid, tracks: ['inbound'], customParameters: params, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } },
    });
    call.timer = setInterval(() => call.tick(), 20);
    return call;
  }

  /** Queues the caller's speech; silence flows when nothing is queued, as on a real line. */
  say(ulaw: Uint8Array): void {
    for (let i = 0; i < ulaw.length; i += 160) {
      const f = new Uint8Array(160).fill(0xff);
      f.set(ulaw.subarray(i, i + 160));
      this.pending.push(f);
    }
  }

  dtmf(digit: string): void {
    this.send({ event: 'dtmf', sequenceNumber: String(this.seq++), streamSid: 'MZ1', dtmf: { track: 'inbound_track', digit } });
  }

  waitFor(match: (m: Msg) => boolean, from = 0, timeoutMs = 20_000): Promise<Msg> {
    const seen = this.received.slice(from).find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out; got ${[...new Set(this.received.map((m) => m.event))].join(', ')}`)), timeoutMs);
      this.waiters.push({ match, resolve: (m) => (clearTimeout(t), resolve(m)) });
    });
  }

  hangUp(): void {
    this.send({ event: 'stop', sequenceNumber: String(this.seq++), streamSid: 'MZ1', stop: { accountSid: 'AC1', callSid: this.callSid } });
  }

  end(): void {
    if (this.timer) clearInterval(this.timer);
    this.ws.close();
  }

  private tick(): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    const frame = this.pending.shift() ?? SILENCE;
    this.chunk++;
    this.send({ event: 'media', sequenceNumber: String(this.seq++), streamSid: 'MZ1', media: { track: 'inbound', chunk: String(this.chunk), timestamp: String(this.chunk * 20), payload: Buffer.from(frame).toString('base64') } });
  }

  private send(m: object): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(m));
  }
}

/** A call in which the caller asks, hears the start of the answer, and hangs up. */
async function hungUpCall(businessId: string): Promise<FakeTwilioCall> {
  const call = await FakeTwilioCall.dial({ business_id: businessId });
  call.say(spokenUlaw());
  await call.waitFor((m) => m.event === 'media');
  call.hangUp();
  await call.closed;
  call.end();
  return call;
}

async function callOf(callSid: string, businessId = 'acme') {
  const list = (await (await svc.api(`/v1/calls?business_id=${businessId}`)).json()) as { data: { id: string; metadata: Record<string, unknown> }[] };
  const found = list.data.find((c) => c.metadata['call_sid'] === callSid);
  expect(found).toBeDefined();
  return (await (await svc.api(`/v1/calls/${found!.id}`)).json()) as { id: string; status: string; end_reason: string; session: Record<string, unknown>; transcript: { role: string; text: string }[] };
}

describe('POST /v1/twilio/voice', () => {
  it('answers TwiML that connects the call to the media stream with the business as a parameter', async () => {
    const res = await svc.api('/v1/twilio/voice?business_id=acme', {
      key: null,
      method: 'POST',
      body: new URLSearchParams({ CallSid: 'CA123', From: '+15550100123', To: '+15550100999' }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/xml/);
    const xml = await res.text();
    expect(xml).toContain(`<Connect action="${svc.url}/v1/twilio/stream-ended?business_id=acme"><Stream url="wss://127.0.0.1:`);
    expect(xml).toContain('/v1/twilio/media-stream">');
    expect(xml).toContain('<Parameter name="business_id" value="acme"/>');
    expect(xml).toContain('<Parameter name="from" value="+15550100123"/>');
  });

  it('answers 404 for an unknown business', async () => {
    const res = await svc.api('/v1/twilio/voice?business_id=nope', { key: null, method: 'POST', body: new URLSearchParams({ CallSid: 'CA1' }) });
    expect(res.status).toBe(404);
  });
});

describe('a simulated Twilio call', () => {
  it('hears the caller in μ-law and answers with paced 160-byte μ-law frames and named marks', async () => {
    const call = await FakeTwilioCall.dial({ business_id: 'acme' });
    call.say(spokenUlaw());
    const firstMedia = await call.waitFor((m) => m.event === 'media');
    const mark = await call.waitFor((m) => m.event === 'mark');
    expect(Buffer.from(firstMedia.media.payload, 'base64').length).toBe(160);
    expect(firstMedia.streamSid).toBe('MZ1');
    expect(mark.mark.name).toMatch(/^item_[A-Za-z0-9]+:\d+$/);
    const record = await callOf(call.callSid);
    expect(record.session).toMatchObject({ input_audio_format: 'g711_ulaw', output_audio_format: 'g711_ulaw' });
    // Frames keep coming in order, each 160 bytes; marks count up per item.
    await call.waitFor((m) => m.event === 'mark' && Number(m.mark.name.split(':').pop()) >= 1000);
    const media = call.received.filter((m) => m.event === 'media');
    expect(media.every((m) => Buffer.from(m.media.payload, 'base64').length === 160)).toBe(true);
    const ms = call.received.filter((m) => m.event === 'mark').map((m) => Number(m.mark.name.split(':').pop()));
    expect(ms).toEqual([...ms].sort((a, b) => a - b));
    expect(call.received.some((m) => m.event === 'clear')).toBe(false);
    call.end();
  });

  it('clears Twilio’s queue when the caller barges in, and keeps only what was played in history', async () => {
    const long = 'Our opening hours are nine to five on weekdays, ten to four on Saturdays, and we are closed on Sundays and public holidays, so please plan your visit accordingly.';
    svc.fake.script.chat.push({ text: long });
    const call = await FakeTwilioCall.dial({ business_id: 'acme' });
    call.say(spokenUlaw());
    await call.waitFor((m) => m.event === 'media');
    call.say(spokenUlaw()); // speaks over the answer
    const clear = await call.waitFor((m) => m.event === 'clear');
    expect(clear.streamSid).toBe('MZ1');
    const before = call.received.slice(0, call.received.indexOf(clear));
    const framesPlayed = before.filter((m) => m.event === 'media').length;
    expect(framesPlayed).toBeGreaterThan(0);
    expect(framesPlayed * 20).toBeLessThan(long.length * 40); // cut well before the end
    const record = await callOf(call.callSid);
    // The second question gets its own answer; the first answer is cut in history.
    await call.waitFor((m) => m.event === 'media', call.received.indexOf(clear) + 1);
    const history = await svc.services.calls.history(record.id);
    const firstAnswer = history.find((h) => h.message['role'] === 'assistant')!.message['content'] as string;
    expect(firstAnswer.length).toBeLessThan(long.length);
    expect(long.startsWith(firstAnswer.slice(0, 20))).toBe(true);
    expect(record.status).toBe('active');
    call.end();
  });

  it('gives DTMF digits to the agent as a user text item, and the agent answers', async () => {
    const call = await FakeTwilioCall.dial({ business_id: 'acme' });
    call.dtmf('1');
    call.dtmf('#');
    await call.waitFor((m) => m.event === 'media');
    const record = await callOf(call.callSid);
    expect(record.transcript[0]).toMatchObject({ role: 'user', text: '[DTMF] 1#' });
    call.end();
  });

  it('ends the call on stop, and DELETE hangs up a live stream', async () => {
    const a = await hungUpCall('acme');
    await expect.poll(async () => (await callOf(a.callSid)).end_reason).toBe('caller_hung_up');

    const b = await FakeTwilioCall.dial({ business_id: 'acme' });
    b.say(spokenUlaw());
    await b.waitFor((m) => m.event === 'media');
    const { id } = await callOf(b.callSid);
    await svc.api(`/v1/calls/${id}`, { method: 'DELETE' });
    await b.closed;
    b.end();
    expect((await callOf(b.callSid)).end_reason).toBe('hangup');
  });

  it('records the phone call’s events, all but the audio, for SSE readers', async () => {
    const call = await hungUpCall('acme');
    await expect.poll(async () => (await callOf(call.callSid)).status).toBe('ended');
    // The call has ended: the stream replays its events and ends by itself.
    const { id } = await callOf(call.callSid);
    const body = await (await svc.api(`/v1/calls/${id}/events`)).text();
    const types = body.split('\n').filter((l) => l.startsWith('data: ')).map((l) => (JSON.parse(l.slice(6)) as { type: string }).type);
    expect(types[0]).toBe('session.created');
    expect(types).toContain('conversation.item.input_audio_transcription.completed');
    expect(types).toContain('response.output_audio_transcript.delta');
    expect(types).not.toContain('response.output_audio.delta');
  });

  it('passes μ-law straight through to a realtime-mode upstream and back', async () => {
    await svc.api('/v1/businesses/rt', { method: 'PUT', json: { ...SIMPLE_BUSINESS, mode: 'realtime' } });
    const call = await FakeTwilioCall.dial({ business_id: 'rt' });
    const speech = spokenUlaw();
    call.say(speech);
    const firstMedia = await call.waitFor((m) => m.event === 'media');
    expect(Buffer.from(firstMedia.media.payload, 'base64').length).toBe(160);
    const upstream = svc.fake.realtimeSessions.at(-1)!;
    const update = upstream.clientEvents.find((e: any) => e.type === 'session.update') as any;
    expect(update.session.audio.input.format).toEqual({ type: 'audio/pcmu' });
    expect(update.session.audio.output.format).toEqual({ type: 'audio/pcmu' });
    // No decode/encode on the way up: the upstream received the caller's μ-law bytes as sent.
    const sent = Buffer.concat(upstream.clientEvents.filter((e: any) => e.type === 'input_audio_buffer.append').map((e: any) => Buffer.from(e.audio, 'base64')));
    const voiced = Buffer.from(speech.subarray(8_000, 8_160)); // one second in: speech, not silence
    expect(sent.indexOf(voiced)).toBeGreaterThanOrEqual(0);
    call.end();
  });

  it('clears Twilio’s queue when the caller barges in on a realtime-mode answer', async () => {
    await svc.api('/v1/businesses/rt', { method: 'PUT', json: { ...SIMPLE_BUSINESS, mode: 'realtime' } });
    svc.fake.script.chat.push({ text: 'Our opening hours are nine to five on weekdays, ten to four on Saturdays, and we are closed on Sundays and public holidays.' });
    const call = await FakeTwilioCall.dial({ business_id: 'rt' });
    call.say(spokenUlaw());
    await call.waitFor((m) => m.event === 'media');
    call.say(spokenUlaw()); // speaks over the answer
    const clear = await call.waitFor((m) => m.event === 'clear');
    expect(clear.streamSid).toBe('MZ1');
    // The upstream was told what was played: a truncate at most as long as the audio sent.
    const upstream = svc.fake.realtimeSessions.at(-1)!;
    const truncate = await new Promise<any>((resolve) => {
      const seen = upstream.clientEvents.find((e: any) => e.type === 'conversation.item.truncate');
      if (seen) return resolve(seen);
      const on = (e: any) => e.type === 'conversation.item.truncate' && (svc.fake.events.off('realtime:client-event', on), resolve(e));
      svc.fake.events.on('realtime:client-event', on);
    });
    const framesBefore = call.received.slice(0, call.received.indexOf(clear)).filter((m) => m.event === 'media').length;
    expect(truncate.audio_end_ms).toBeLessThanOrEqual(framesBefore * 20 + 20);
    call.end();
  });
});

describe('transfer_to_human on a phone call', () => {
  const afterStream = async (callSid: string) => {
    const res = await svc.api('/v1/twilio/stream-ended?business_id=desk', { key: null, method: 'POST', body: new URLSearchParams({ CallSid: callSid, CallStatus: 'in-progress' }) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/xml/);
    return res.text();
  };

  beforeAll(async () => {
    const tools = ((await (await svc.api('/v1/tools/customer_support')).json()) as { data: object[] }).data;
    const res = await svc.api('/v1/businesses/desk', { method: 'PUT', json: { ...SIMPLE_BUSINESS, session: { ...SIMPLE_BUSINESS.session, tools }, transfer_to: '+15550100777' } });
    expect(res.status).toBe(201);
  });

  it('closes the stream once the agent has spoken, and Twilio’s next request dials the business’s number', async () => {
    svc.fake.script.chat.push({ tool_calls: [{ name: 'transfer_to_human', arguments: { reason: 'billing question' } }] }, { text: 'Transferring you now.' });
    const call = await FakeTwilioCall.dial({ business_id: 'desk' });
    call.say(spokenUlaw());
    expect(await call.closed).toBe(1000);
    const played = call.received.filter((m) => m.event === 'media').length;
    call.end();
    expect(played).toBeGreaterThan(0); // the agent's words went out before the stream closed
    await expect.poll(async () => (await callOf(call.callSid, 'desk')).end_reason).toBe('transferred');
    expect(await afterStream(call.callSid)).toBe('<?xml version="1.0" encoding="UTF-8"?><Response><Dial><Number>+15550100777</Number></Dial></Response>');
    // Once only: a repeated request (or any other call) just hangs up.
    expect(await afterStream(call.callSid)).toContain('<Response><Hangup/></Response>');
  });

  it('transfers a realtime-mode call the same way, once the upstream’s answer has played', async () => {
    const tools = ((await (await svc.api('/v1/tools/customer_support')).json()) as { data: object[] }).data;
    await svc.api('/v1/businesses/rtdesk', { method: 'PUT', json: { ...SIMPLE_BUSINESS, mode: 'realtime', session: { ...SIMPLE_BUSINESS.session, tools }, transfer_to: 'sip:desk@pbx.example.com' } });
    svc.fake.script.chat.push({ tool_calls: [{ name: 'transfer_to_human', arguments: {} }] }, { text: 'Transferring you now.' });
    const call = await FakeTwilioCall.dial({ business_id: 'rtdesk' });
    call.say(spokenUlaw());
    expect(await call.closed).toBe(1000);
    call.end();
    expect(call.received.some((m) => m.event === 'media')).toBe(true);
    await expect.poll(async () => (await callOf(call.callSid, 'rtdesk')).end_reason).toBe('transferred');
    expect(await afterStream(call.callSid)).toContain('<Dial><Sip>sip:desk@pbx.example.com</Sip></Dial>');
  });

  it('hangs up after a stream that ended without a transfer', async () => {
    const call = await hungUpCall('desk');
    expect(await afterStream(call.callSid)).toContain('<Response><Hangup/></Response>');
  });

  it('takes an E.164 number or a SIP URI as transfer_to, and refuses anything else', async () => {
    const put = (transfer_to: unknown) => svc.api('/v1/businesses/desk2', { method: 'PUT', json: { ...SIMPLE_BUSINESS, transfer_to } });
    expect((await put('sip:support@pbx.example.com')).status).toBe(201);
    expect((await put(null)).status).toBe(200); // updated
    const bad = await put('555-0100');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { param: string } }).error.param).toBe('transfer_to');
  });
});

describe('Twilio with TWILIO_AUTH_TOKEN set', () => {
  let signed: TestService;
  const token = 'twilio-auth-token-for-tests';
  beforeAll(async () => {
    signed = await startService({ workers: false, env: { TWILIO_AUTH_TOKEN: token } });
    await signed.api('/v1/businesses/acme', { method: 'PUT', json: SIMPLE_BUSINESS });
  });
  afterAll(async () => {
    await signed?.stop();
  });

  it('accepts a correctly signed webhook and refuses a forged one with 403', async () => {
    const path = '/v1/twilio/voice?business_id=acme';
    const params = { CallSid: 'CA9', From: '+15550100123' };
    const sig = twilioSignature(token, signed.url + path, params);
    const ok = await signed.api(path, { key: null, method: 'POST', body: new URLSearchParams(params), headers: { 'x-twilio-signature': sig } });
    expect(ok.status).toBe(200);
    const xml = await ok.text();
    expect(xml).toContain(`<Parameter name="token" value="${streamToken(token, 'acme', 'CA9')}"/>`);
    const forged = await signed.api(path, { key: null, method: 'POST', body: new URLSearchParams({ ...params, From: '+19999999999' }), headers: { 'x-twilio-signature': sig } });
    expect(forged.status).toBe(403);
    const unsigned = await signed.api(path, { key: null, method: 'POST', body: new URLSearchParams(params) });
    expect(unsigned.status).toBe(403);
  });

  it('refuses an unsigned request for what comes after the stream', async () => {
    const res = await signed.api('/v1/twilio/stream-ended?business_id=acme', { key: null, method: 'POST', body: new URLSearchParams({ CallSid: 'CA9' }) });
    expect(res.status).toBe(403);
  });

  it('refuses a media stream without the token from our TwiML', async () => {
    const ws = new WebSocket(`${signed.wsUrl}/v1/twilio/media-stream`);
    await new Promise((resolve) => ws.once('open', resolve));
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    ws.send(JSON.stringify({ event: 'start', streamSid: 'MZ2', start: { streamSid: 'MZ2', callSid: 'CA9', customParameters: { business_id: 'acme' } } }));
    expect(await closed).toBe(1008);
  });
});
