/**
 * Telephony through Twilio (DESIGN.md §5, PROTOCOLS.md §6):
 * - POST /v1/twilio/voice?business_id=…: the voice webhook. Answers TwiML that connects the call
 *   to our media stream, passing the business (and the caller) as stream <Parameter>s, since
 *   stream URLs cannot carry a query string. `X-Twilio-Signature` is checked when
 *   TWILIO_AUTH_TOKEN is set; then the stream also gets a token bound to the business and CallSid.
 * - GET /v1/twilio/media-stream (WebSocket): Twilio Media Streams. The call is created on `start`
 *   with μ-law 8 kHz both ways (g711_ulaw: no transcoding, passed straight through in realtime
 *   mode). The agent's audio goes out as 20 ms frames paced in real time with marks, so we know
 *   what was played; on barge-in Twilio gets `clear` and the driver learns what was heard.
 *   DTMF digits reach the agent as a user text item ("[DTMF] 1").
 * - POST /v1/twilio/stream-ended: <Connect>'s action, asked when the stream closes. After
 *   transfer_to_human it dials the business's `transfer_to`; otherwise it hangs up.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import type { Business } from '../../contracts/business';
import type { CallRecord } from '../../contracts/call';
import type { ClientEvent, ServerEvent } from '../../contracts/realtime';
import { afterStreamTwiml, connectStreamTwiml, dtmfText, parseTwilioMessage, twilioOut, type TwilioInbound } from '../../core/twilio/messages';
import { FRAME_MS, TwilioPlayout } from '../../core/twilio/playout';
import { streamToken, validStreamToken, validTwilioSignature } from '../../core/twilio/signature';
import { ApiError } from '../../errors';
import type { Logger } from '../../logger';
import { createDriver } from '../../modes/create-driver';
import type { CallDriver } from '../../modes/driver';
import { createCall } from '../call-factory';
import { callSessions } from '../sessions/call-sessions';
import { CallEventRecorder } from '../sessions/event-log';
import type { Services } from '../services';

/** Frames sent ahead of real time, so network jitter does not starve Twilio's player. */
const LEAD_FRAMES = 2;
/** How long Twilio has to ask /v1/twilio/stream-ended after the stream closes for a transfer. */
const TRANSFER_TTL_S = 300;
/** Digits pressed within this long of each other reach the agent as one item ("[DTMF] 1234"). */
const DTMF_GAP_MS = 1_000;

function publicBase(s: Services, req: FastifyRequest): string {
  return (s.config.publicUrl ?? `${req.protocol}://${req.host}`).replace(/\/$/, '');
}

export async function twilioRoutes(root: FastifyInstance, s: Services) {
  await root.register(async (plain) => {
    plain.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    const app = plain.withTypeProvider<ZodTypeProvider>();

    const webhook = {
      querystring: z.object({ business_id: z.string().min(1) }),
      body: z.record(z.string(), z.string()).optional(),
    };
    /** Twilio's form parameters, once X-Twilio-Signature is checked (when TWILIO_AUTH_TOKEN is set). */
    const signedParams = (req: FastifyRequest): Record<string, string> => {
      const params = (req.body ?? {}) as Record<string, string>;
      const token = s.config.twilioAuthToken;
      const sig = req.headers['x-twilio-signature'];
      if (token && !validTwilioSignature(token, Array.isArray(sig) ? sig[0] : sig, publicBase(s, req) + req.url, params)) {
        throw new ApiError(403, 'permission_error', 'invalid_twilio_signature', 'X-Twilio-Signature does not match this request (check TWILIO_AUTH_TOKEN and PUBLIC_URL).');
      }
      return params;
    };

    app.post(
      '/v1/twilio/voice',
      { schema: { tags: ['telephony'], summary: 'Twilio voice webhook: TwiML connecting the call to the media stream', ...webhook } },
      async (req, reply) => {
        const params = signedParams(req);
        const token = s.config.twilioAuthToken;
        const businessId = req.query.business_id;
        if (!(await s.businesses.get(businessId))) throw ApiError.notFound('business', businessId);
        const callSid = params['CallSid'] ?? '';
        const base = publicBase(s, req);
        // Twilio refuses ws://: the stream is always wss://, TLS ending at the proxy in front of us.
        const streamUrl = `${base.replace(/^https?:/, 'wss:')}/v1/twilio/media-stream`;
        const actionUrl = `${base}/v1/twilio/stream-ended?business_id=${encodeURIComponent(businessId)}`;
        const parameters: Record<string, string> = { business_id: businessId, call_sid: callSid, from: params['From'] ?? '', to: params['To'] ?? '' };
        if (token) parameters['token'] = streamToken(token, businessId, callSid);
        return reply.type('text/xml').send(connectStreamTwiml(streamUrl, parameters, actionUrl));
      },
    );

    // <Connect action>: Twilio asks what comes next once our stream has closed.
    app.post(
      '/v1/twilio/stream-ended',
      { schema: { tags: ['telephony'], summary: 'After the media stream: TwiML that transfers the caller to a person, or hangs up', ...webhook } },
      async (req, reply) => {
        const params = signedParams(req);
        const callSid = params['CallSid'] ?? '';
        const target = callSid ? await s.redis.getdel(s.keys.twilioTransfer(callSid)) : null;
        if (target) req.log.info({ call_sid: callSid, business_id: req.query.business_id }, 'twilio call transferred');
        return reply.type('text/xml').send(afterStreamTwiml(target));
      },
    );

    app.get('/v1/twilio/media-stream', { websocket: true, schema: { tags: ['telephony'], summary: 'Twilio Media Streams WebSocket' } }, (socket) => {
      new TwilioStream(s, socket).listen();
    });
  });
}

/** One Twilio media stream: Twilio's messages in order into the call driver, the agent's audio out paced. */
class TwilioStream {
  private log: Logger;
  private streamSid = '';
  private call: CallRecord | null = null;
  private driver: CallDriver | null = null;
  /** The call's events for SSE readers (GET /v1/calls/:id/events), audio left out as on the WebSocket. */
  private recorder: CallEventRecorder | null = null;
  private readonly playout = new TwilioPlayout();
  private queue: Promise<void> = Promise.resolve();
  private pacer: NodeJS.Timeout | null = null;
  private clock: { t0: number; frames: number } | null = null;
  private responding = false;
  private digits = '';
  private dtmfTimer: NodeJS.Timeout | null = null;
  private endReason = 'twilio_disconnected';
  private callSid = '';
  private transferTo: string | null = null;
  private closed = false;
  private readonly onHangup = (id: string) => {
    if (id !== this.call?.id) return;
    this.endReason = 'hangup';
    this.socket.close(1000, 'hangup');
  };

  constructor(
    private readonly s: Services,
    private readonly socket: WebSocket,
  ) {
    this.log = s.log.child({ transport: 'twilio' });
  }

  listen(): void {
    this.socket.on('message', (data) => {
      const msg = parseTwilioMessage(Buffer.isBuffer(data) ? data.toString('utf8') : String(data));
      if (!msg) return this.log.warn('ignored an unreadable Twilio message');
      this.enqueue(() => this.onMessage(msg));
    });
    this.socket.on('close', () => this.enqueue(() => this.close()));
    this.socket.on('error', (err) => this.log.warn({ err: err.message }, 'twilio websocket error'));
    this.s.events.on('hangup', this.onHangup);
  }

  private enqueue(fn: () => Promise<void> | void): void {
    this.queue = this.queue.then(fn).catch((err: Error) => this.log.error({ err: err.message }, 'twilio stream error'));
  }

  private async onMessage(msg: TwilioInbound): Promise<void> {
    switch (msg.event) {
      case 'start':
        return this.start(msg.start);
      case 'media':
        if (msg.media.track && msg.media.track !== 'inbound') return;
        return this.driver?.onAudio(Buffer.from(msg.media.payload, 'base64'));
      case 'mark':
        return this.playout.onMark(msg.mark.name);
      case 'dtmf':
        return this.onDigit(msg.dtmf.digit);
      case 'stop':
        this.endReason = 'caller_hung_up';
        this.socket.close(1000, 'stop');
        return;
      default:
        return;
    }
  }

  private async start(start: Extract<TwilioInbound, { event: 'start' }>['start']): Promise<void> {
    if (this.driver) return;
    this.streamSid = start.streamSid;
    this.callSid = start.callSid;
    const p = start.customParameters;
    const businessId = p['business_id'] ?? '';
    const token = this.s.config.twilioAuthToken;
    if (token && !validStreamToken(token, p['token'], businessId, start.callSid)) {
      this.log.warn({ business_id: businessId }, 'twilio stream refused: bad or missing stream token');
      this.socket.close(1008, 'invalid stream token');
      return;
    }
    const business = await this.s.businesses.get(businessId);
    if (!business) {
      this.log.warn({ business_id: businessId }, 'twilio stream for an unknown business');
      this.socket.close(1008, 'unknown business');
      return;
    }
    const metadata = { channel: 'twilio', call_sid: start.callSid, stream_sid: start.streamSid, from: p['from'] ?? '', to: p['to'] ?? '' };
    this.transferTo = business.transfer_to ?? null;
    const { record } = await createCall(this.s, { business_id: business.id, metadata });
    this.call = await this.phoneSession(record);
    this.log = this.log.child({ call_id: record.id });
    this.log.info({ call_sid: start.callSid }, 'twilio call started');
    this.recorder = new CallEventRecorder(callSessions(this.s).eventLog, record.id, this.log, { skipAudio: true });
    this.driver = this.createDriver(this.call, business);
    await this.driver.start();
  }

  /**
   * μ-law 8 kHz both ways. The driver does not cancel on speech by itself: only this transport
   * knows what the caller heard, so it interrupts with that (see bargeIn).
   */
  private async phoneSession(record: CallRecord): Promise<CallRecord> {
    const td = record.session.turn_detection;
    const session = { ...record.session, input_audio_format: 'g711_ulaw' as const, output_audio_format: 'g711_ulaw' as const, turn_detection: td ? { ...td, interrupt_response: false } : td };
    await this.s.calls.updateSession(record.id, session);
    return { ...record, session };
  }

  private createDriver(call: CallRecord, business: Business): CallDriver {
    return createDriver(this.s, call, business, {
      send: (e) => this.onDriverEvent(e),
      hangup: (reason) => {
        this.log.info({ reason }, 'server hangs up');
        this.endReason = reason;
        this.socket.close(1000, reason.slice(0, 100));
      },
      transfer: (reason) => this.enqueue(() => this.transfer(reason)),
    });
  }

  /**
   * transfer_to_human, after the agent's last words have played: closing the stream ends
   * <Connect>, and Twilio then asks /v1/twilio/stream-ended, which dials the business's
   * transfer_to. A business without one only has the transfer recorded.
   */
  private async transfer(reason: string | undefined): Promise<void> {
    if (this.closed) return;
    if (!this.transferTo) return void this.log.warn({ reason }, 'transfer_to_human without a transfer_to number: recorded only');
    await this.s.redis.set(this.s.keys.twilioTransfer(this.callSid), this.transferTo, 'EX', TRANSFER_TTL_S);
    this.log.info({ reason, transfer_to: this.transferTo }, 'transferring the caller');
    this.endReason = 'transferred';
    this.socket.close(1000, 'transfer');
  }

  private onDriverEvent(e: ServerEvent): void {
    this.recorder?.record(e);
    switch (e.type) {
      case 'response.created':
        this.responding = true;
        return;
      case 'response.done':
        this.responding = false;
        return;
      case 'response.audio.delta':
        this.playout.push(e.item_id, Buffer.from(e.delta, 'base64'));
        return this.pump();
      case 'response.audio.done':
        this.playout.finish(e.item_id);
        return this.pump();
      case 'input_audio_buffer.speech_started':
        return this.bargeIn();
      case 'error':
        this.log.warn({ code: e.error.code, message: e.error.message }, 'call driver reported an error');
        return;
      default:
        return;
    }
  }

  /** Sends the frames due by now (real time plus a small lead) and the marks between them. */
  private readonly pump = (): void => {
    if (this.closed) return;
    const now = Date.now();
    if (this.playout.isEmpty) {
      if (this.pacer) clearInterval(this.pacer);
      this.pacer = null;
      this.clock = null;
      return;
    }
    this.clock ??= { t0: now, frames: 0 };
    const due = Math.floor((now - this.clock.t0) / FRAME_MS) + 1 + LEAD_FRAMES - this.clock.frames;
    for (let sent = 0; ; ) {
      if (sent >= due && this.playout.peekIsMedia) break;
      const o = this.playout.next(now);
      if (!o) break;
      if (o.event === 'media') {
        sent++;
        this.clock.frames++;
        this.sendTwilio(twilioOut.media(this.streamSid, o.payload));
      } else this.sendTwilio(twilioOut.mark(this.streamSid, o.name));
    }
    this.pacer ??= setInterval(this.pump, FRAME_MS);
  };

  /** The caller spoke over the agent: stop the audio, and tell the driver what was heard. */
  private bargeIn(): void {
    const cut = this.playout.interrupt(Date.now());
    this.pump(); // stops the pacer: the queue is empty now
    if (cut) this.sendTwilio(twilioOut.clear(this.streamSid));
    const driver = this.driver;
    if (!driver) return;
    if (this.responding) {
      this.responding = false;
      this.enqueue(() => driver.onClientEvent({ type: 'response.interrupt', ...(cut ? { audio_end_ms: cut.audioEndMs } : {}) }));
    } else if (cut) {
      this.enqueue(() => driver.onClientEvent({ type: 'conversation.item.truncate', item_id: cut.itemId, content_index: 0, audio_end_ms: cut.audioEndMs }));
    }
  }

  private onDigit(digit: string): void {
    this.digits += digit;
    if (this.dtmfTimer) clearTimeout(this.dtmfTimer);
    const flush = () => {
      this.dtmfTimer = null;
      const digits = this.digits;
      this.digits = '';
      if (!digits) return;
      // Pressing a key while the agent talks is a barge-in too (its events are queued first).
      if (this.responding || this.playout.playing) this.bargeIn();
      this.enqueue(() => this.sendDigits(digits));
    };
    if (digit === '#') flush();
    else this.dtmfTimer = setTimeout(flush, DTMF_GAP_MS);
  }

  private async sendDigits(digits: string): Promise<void> {
    const driver = this.driver;
    if (!driver || this.closed) return;
    const events: ClientEvent[] = [
      { type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: dtmfText(digits) }] } },
      { type: 'response.create' },
    ];
    for (const e of events) await driver.onClientEvent(e);
  }

  private sendTwilio(msg: object): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(JSON.stringify(msg));
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.s.events.off('hangup', this.onHangup);
    if (this.pacer) clearInterval(this.pacer);
    if (this.dtmfTimer) clearTimeout(this.dtmfTimer);
    if (!this.driver || !this.call) return;
    await this.driver.close(this.endReason);
    await this.recorder?.flushed(); // an SSE reader that sees the call ended has all its events
    await this.s.calls.end(this.call.id, this.endReason);
    void this.s.hangups.publish(this.call.id); // SSE readers of this call drain and close
    this.log.info({ reason: this.endReason }, 'twilio call ended');
  }
}
