/**
 * Telephony through Twilio (docs/DESIGN.md §5, docs/PROTOCOLS.md §6):
 * - POST /v1/twilio/voice?business_id=…: the voice webhook. Answers TwiML that connects the call
 *   to our media stream, passing the business (and the caller) as stream <Parameter>s, since
 *   stream URLs cannot carry a query string. `X-Twilio-Signature` is checked when
 *   TWILIO_AUTH_TOKEN is set; then the stream also gets a token bound to the business and CallSid.
 * - GET /v1/twilio/media-stream (WebSocket): Twilio Media Streams, one transport of a CallHost
 *   (sessions/call-host.ts). The call is created on `start` with μ-law 8 kHz both ways (g711_ulaw:
 *   no transcoding, passed straight through in realtime mode). The agent's audio goes to an audio
 *   sink (sessions/twilio-audio-out.ts): 20 ms frames paced in real time with marks, so it knows
 *   what was played. Barge-in takes the same path as on every transport: the driver cancels the
 *   answer on speech, and this transport, like any Realtime client, clears Twilio's queue and
 *   truncates the item to what was heard. DTMF digits reach the agent as a user text item
 *   ("[DTMF] 1"), interrupting the agent first.
 * - POST /v1/twilio/stream-ended: <Connect>'s action, asked when the stream closes. After
 *   transfer_to_human it dials the business's `transfer_to`; otherwise it hangs up.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import type { CallRecord } from '../../contracts/call';
import type { ClientEvent, ServerEvent } from '../../contracts/realtime';
import { afterStreamTwiml, connectStreamTwiml, dtmfText, parseTwilioMessage, type TwilioInbound } from '../../core/twilio/messages';
import { streamToken, validStreamToken, validTwilioSignature } from '../../core/twilio/signature';
import { ApiError } from '../../errors';
import type { Logger } from '../../logger';
import { createCall } from '../call-factory';
import { CallHost } from '../sessions/call-host';
import { TwilioAudioOut } from '../sessions/twilio-audio-out';
import type { Services } from '../../services';
import { guardTwilioRoutes } from '../../security/twilio-access';

/** How long Twilio has to ask /v1/twilio/stream-ended after the stream closes for a transfer. */
const TRANSFER_TTL_S = 300;
/** Digits pressed within this long of each other reach the agent as one item ("[DTMF] 1234"). */
const DTMF_GAP_MS = 1_000;

function publicBase(s: Services, req: FastifyRequest): string {
  return (s.config.publicUrl ?? `${req.protocol}://${req.host}`).replace(/\/$/, '');
}

export async function twilioRoutes(root: FastifyInstance, s: Services) {
  await root.register(async (plain) => {
    guardTwilioRoutes(plain, s);
    plain.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    const app = plain.withTypeProvider<ZodTypeProvider>();

    const webhook = {
      querystring: z.object({ business_id: z.string().min(1) }),
      body: z.record(z.string(), z.string()).optional(),
      consumes: ['application/x-www-form-urlencoded'],
    };
    const config = { accepts: ['application/x-www-form-urlencoded', 'application/json'] };
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
      { schema: { tags: ['telephony'], summary: 'Twilio voice webhook: TwiML connecting the call to the media stream', ...webhook }, config },
      async (req, reply) => {
        const params = signedParams(req);
        const token = s.config.twilioAuthToken;
        const businessId = req.query.business_id;
        if (!(await s.businesses.get(businessId))) throw ApiError.notFound('business', businessId, 'business_id');
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
      { schema: { tags: ['telephony'], summary: 'After the media stream: TwiML that transfers the caller to a person, or hangs up', ...webhook }, config },
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

/** One Twilio media stream: the Twilio transport of a CallHost; the agent's audio goes out paced. */
class TwilioStream {
  private log: Logger;
  private streamSid = '';
  private host: CallHost | null = null;
  /** The agent's audio, paced out to Twilio; knows what was heard. */
  private readonly audio: TwilioAudioOut;
  /** Twilio's messages in order (the start creates the call before its media arrives). */
  private queue: Promise<void> = Promise.resolve();
  private responding = false;
  /** The session's turn_detection.interrupt_response: speech stops the agent (as the driver does). */
  private interruptOnSpeech = true;
  private digits = '';
  private dtmfTimer: NodeJS.Timeout | null = null;
  private callSid = '';
  private transferTo: string | null = null;
  private closed = false;

  constructor(
    private readonly s: Services,
    private readonly socket: WebSocket,
  ) {
    this.log = s.log.child({ transport: 'twilio' });
    this.audio = new TwilioAudioOut(() => this.streamSid, (msg) => this.sendTwilio(msg));
  }

  listen(): void {
    this.socket.on('message', (data) => {
      const msg = parseTwilioMessage(Buffer.isBuffer(data) ? data.toString('utf8') : String(data));
      if (!msg) return this.log.warn('ignored an unreadable Twilio message');
      this.enqueue(() => this.onMessage(msg));
    });
    this.socket.on('close', () => this.enqueue(() => this.close('twilio_disconnected')));
    this.socket.on('error', (err) => this.log.warn({ err: err.message }, 'twilio websocket error'));
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
        void this.host?.audio(Buffer.from(msg.media.payload, 'base64')).catch(() => {});
        return;
      case 'mark':
        return this.audio.onMark(msg.mark.name);
      case 'dtmf':
        return this.onDigit(msg.dtmf.digit);
      case 'stop':
        return this.hangUp('caller_hung_up', 'stop');
      default:
        return;
    }
  }

  private async start(start: Extract<TwilioInbound, { event: 'start' }>['start']): Promise<void> {
    if (this.host || this.closed) return;
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
    const call = await this.phoneSession(record);
    this.log = this.log.child({ call_id: record.id });
    this.log.info({ call_sid: start.callSid }, 'twilio call started');
    this.host = new CallHost(this.s, {
      call,
      business,
      log: this.log,
      recordAudio: false, // as on the WebSocket: the caller has the audio
      transport: {
        deliver: (e) => this.onDriverEvent(e),
        close: (reason) => this.socket.close(1000, reason.slice(0, 100)),
        transfer: (reason) => this.enqueue(() => this.transfer(reason)),
        audio: this.audio,
      },
      onEnded: (reason) => this.log.info({ reason }, 'twilio call ended'),
    });
    // The stream may have closed while the call was being created.
    if (this.closed) return void this.host.end('twilio_disconnected');
    await this.host.start();
  }

  /** μ-law 8 kHz both ways: Twilio's own format, so nothing is transcoded on the way. */
  private async phoneSession(record: CallRecord): Promise<CallRecord> {
    const session = { ...record.session, input_audio_format: 'g711_ulaw' as const, output_audio_format: 'g711_ulaw' as const };
    await this.s.calls.updateSession(record.id, session);
    return { ...record, session };
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
    this.hangUp('transferred', 'transfer');
  }

  /** The call ends for `reason` (not the closed socket's), and the stream closes. */
  private hangUp(reason: string, closeReason: string): void {
    void this.host?.end(reason);
    this.socket.close(1000, closeReason);
  }
  /** What reaches the caller besides the audio (which goes to the audio sink). */
  private onDriverEvent(e: ServerEvent): void {
    switch (e.type) {
      case 'response.created':
        this.responding = true;
        return;
      case 'response.done':
        this.responding = false;
        return;
      case 'session.created':
      case 'session.updated':
        this.interruptOnSpeech = e.session.turn_detection?.interrupt_response ?? true;
        return;
      case 'input_audio_buffer.speech_started':
        if (this.interruptOnSpeech) this.onSpeech();
        return;
      case 'error':
        this.log.warn({ code: e.error.code, message: e.error.message }, 'call driver reported an error');
        return;
      default:
        return;
    }
  }

  /**
   * The caller spoke over the agent. The driver cancels the answer itself (interrupt_response,
   * as for every transport); this transport does what any Realtime client does: stops playing,
   * and truncates the item to what was heard, which only it knows.
   */
  private onSpeech(): void {
    const cut = this.audio.interrupt();
    if (cut) void this.host?.clientEvent({ type: 'conversation.item.truncate', item_id: cut.itemId, content_index: 0, audio_end_ms: cut.audioEndMs }).catch(() => {});
  }

  /** A key pressed while the agent talks: stop the answer (the driver's VAD did not hear it) and cut it at what was heard. */
  private interruptForKeypress(): void {
    const cut = this.audio.interrupt();
    const host = this.host;
    if (!host) return;
    if (this.responding) {
      this.responding = false;
      void host.clientEvent({ type: 'response.interrupt', ...(cut ? { audio_end_ms: cut.audioEndMs } : {}) }).catch(() => {});
    } else if (cut) {
      void host.clientEvent({ type: 'conversation.item.truncate', item_id: cut.itemId, content_index: 0, audio_end_ms: cut.audioEndMs }).catch(() => {});
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
      if (this.responding || this.audio.playing) this.interruptForKeypress();
      this.enqueue(() => this.sendDigits(digits));
    };
    if (digit === '#') flush();
    else this.dtmfTimer = setTimeout(flush, DTMF_GAP_MS);
  }

  private async sendDigits(digits: string): Promise<void> {
    const host = this.host;
    if (!host || this.closed) return;
    const events: ClientEvent[] = [
      { type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: dtmfText(digits) }] } },
      { type: 'response.create' },
    ];
    for (const e of events) await host.clientEvent(e);
  }

  private sendTwilio(msg: object): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(JSON.stringify(msg));
  }

  private async close(reason: string): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.audio.close();
    if (this.dtmfTimer) clearTimeout(this.dtmfTimer);
    await this.host?.end(reason);
  }
}
