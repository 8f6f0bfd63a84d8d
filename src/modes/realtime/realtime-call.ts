/**
 * Realtime mode for one connected call: the gateway proxies the call to an OpenAI
 * Realtime-compatible upstream (GA by default, beta when REALTIME_DIALECT says so) with the
 * provider's key, injects the business's session before anything the client sends, relays events
 * both ways within the business's guards, runs server-side tools itself, and on an upstream
 * failure ends the call or continues it in chained mode (business.realtime_fallback). The client
 * sees the same protocol as in chained mode.
 */
import type { Business } from '../../contracts/business';
import type { CallRecord } from '../../contracts/call';
import type { ClientEvent, ClientEventOf, RealtimeResponse, ServerEvent } from '../../contracts/realtime';
import type { Session } from '../../contracts/session';
import { serverEvents, newId, stamp, type UpstreamClientEvent, type UpstreamEvent } from '../../core/protocol';
import type { Services } from '../../services';
import { ChainedCall } from '../chained/chained-call';
import { carryOutCallAction, type CallDriver, type DriverHost } from '../driver';
import { guardItemCreate, guardResponseCreate, guardSessionUpdate, type GuardContext } from './guards';
import { RealtimeHistory } from './history';
import { PlayedAudioTracker } from './played-audio';
import { bytesPerMs, chainedFallbackSession, clientSession, pickUpstream, upstreamSessionPatch } from './session-map';
import { RealtimeStageLog } from './stage-events';
import { ToolRunner } from './tool-runner';
import { UpstreamConnectError, type UpstreamConnection } from './upstream';
import { connectUpstream } from './upstream-failover';
import type { ProviderName } from '../../adapters/failover';

const INJECTION_TIMEOUT_MS = 10_000;

interface Injection {
  eventId: string;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class RealtimeCall implements CallDriver {
  private session: Session;
  private upstream: UpstreamConnection | null = null;
  private injection: Injection | null = null;
  /** Client session.updates sent upstream, waiting for its session.updated (or error). */
  private readonly pendingSessions: { eventId: string; session: Session }[] = [];
  private activeResponse: RealtimeResponse | null = null;
  /** response.interrupt: the truncate waits until the cancelled response is done (its item is final then). */
  private truncateAfter: { responseId: string; itemId: string; audioEndMs: number } | null = null;
  private readonly played = new PlayedAudioTracker();
  /** Beta upstreams omit `name` on fn-args.done; GA clients expect it. */
  private readonly functionNames = new Map<string, string>();
  private readonly conversationId = newId('conv');
  private readonly tools: ToolRunner;
  private readonly stage: RealtimeStageLog;
  private readonly history: RealtimeHistory;
  private fallback: Promise<CallDriver | null> | null = null;
  /** end_call / transfer_to_human from a tool: carried out when the answer to its result has played. */
  private callAction: { action: 'transfer' | 'end'; reason: string | undefined } | null = null;
  private announced = false;
  private failed = false;
  private closed = false;

  constructor(
    private readonly s: Services,
    private readonly call: CallRecord,
    private readonly business: Business,
    private readonly host: DriverHost,
  ) {
    this.session = call.session;
    const warn = (err: Error) => s.log.warn({ call_id: call.id, err: err.message }, 'realtime call bookkeeping failed');
    this.stage = new RealtimeStageLog(s.stageLog, call.id, warn);
    this.history = new RealtimeHistory(s.calls, s.audit, call.id, warn);
    this.tools = new ToolRunner({
      tools: s,
      business,
      callId: call.id,
      send: (e) => this.host.send(e),
      sendUpstream: (e) => void this.upstream?.send(e),
      requestCallAction: async (action, reason) => {
        this.callAction = { action, reason };
      },
    });
  }

  private get guardContext(): GuardContext {
    return { business: this.business, extraVoices: this.s.config.extraVoices, serverCallIds: this.tools.serverCallIds };
  }

  // ------------------------------------------------------------------ lifecycle

  async start(): Promise<void> {
    const started = Date.now();
    const rt = this.s.config.realtime;
    const handlers = { onEvent: (e: UpstreamEvent) => this.onUpstreamEvent(e), onDrop: (code: number, reason: string) => void this.upstreamFailed('drop', `closed with code ${code}${reason ? ` (${reason})` : ''}`) };
    let provider: ProviderName;
    try {
      // A refused primary is tried on REALTIME_FALLBACK_URL first (upstream-failover.ts).
      const connected = await connectUpstream(this.s.config, this.session.model, handlers, (err) => this.stage.failover(err.message));
      provider = connected.provider;
      this.upstream = connected.upstream;
      await this.inject(connected.upstream);
    } catch (err) {
      this.upstream?.close();
      this.upstream = null;
      return this.upstreamFailed('connect', (err as Error).message, err instanceof UpstreamConnectError ? err : undefined);
    }
    this.stage.sessionSet(Date.now() - started, { model: this.session.model, voice: this.session.voice, dialect: rt.dialect, tools: this.session.tools.length, provider });
    this.announced = true;
    this.host.send(serverEvents.sessionCreated(clientSession(this.session, this.call.id)));
    this.host.send(serverEvents.conversationCreated(this.conversationId));
  }

  /** The business's session goes upstream before any client event; resolves on its session.updated. */
  private inject(upstream: UpstreamConnection): Promise<void> {
    const eventId = newId('event');
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the realtime provider did not confirm the session')), INJECTION_TIMEOUT_MS);
      const done = (fn: () => void) => () => {
        clearTimeout(timer);
        this.injection = null;
        fn();
      };
      this.injection = { eventId, resolve: done(resolve), reject: (err) => done(() => reject(err))() };
      upstream.send({ type: 'session.update', event_id: eventId, session: upstreamSessionPatch(this.session) });
    });
  }

  async close(reason: string): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.tools.close();
    this.upstream?.close();
    this.upstream = null;
    const fallback = await this.fallback;
    await fallback?.close(reason);
  }

  // ------------------------------------------------------------------ client → upstream

  async onClientEvent(e: ClientEvent): Promise<void> {
    if (this.fallback) {
      const driver = await this.fallback;
      return driver?.onClientEvent(e);
    }
    if (this.closed) return;
    switch (e.type) {
      case 'session.update':
        return this.updateSession(e);
      case 'response.create': {
        const err = guardResponseCreate(this.guardContext, e);
        return err ? this.host.send(serverEvents.error(err)) : this.forward(e);
      }
      case 'conversation.item.create': {
        const err = guardItemCreate(this.guardContext, e);
        return err ? this.host.send(serverEvents.error(err)) : this.forward(e);
      }
      case 'response.interrupt':
        return this.interrupt(e);
      default:
        return this.forward(e);
    }
  }

  onAudio(bytes: Uint8Array): void {
    if (this.fallback) {
      void this.fallback.then((d) => d?.onAudio(bytes));
      return;
    }
    // Formats are the session's on both legs, so audio passes through without transcoding.
    this.forward({ type: 'input_audio_buffer.append', audio: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') });
  }

  private forward(e: UpstreamClientEvent): void {
    if (this.upstream?.send(e)) return;
    this.host.send(serverEvents.error({ type: 'server_error', code: 'upstream_unavailable', message: 'The realtime provider is not connected.', ...(e.event_id ? { event_id: e.event_id } : {}) }));
  }

  private updateSession(e: ClientEventOf<'session.update'>): void {
    const base = this.pendingSessions.at(-1)?.session ?? this.session;
    const r = guardSessionUpdate(this.guardContext, base, e);
    if (!r.ok) return this.host.send(serverEvents.error(r.error));
    const eventId = e.event_id ?? newId('event');
    this.pendingSessions.push({ eventId, session: r.session });
    this.forward({ type: 'session.update', event_id: eventId, session: pickUpstream(r.session, r.fields) });
  }

  /** Our extension (§1.8): cancel the running reply and truncate the playing item at what was heard. */
  private interrupt(e: ClientEventOf<'response.interrupt'>): void {
    const played = this.played.played(bytesPerMs(this.session.output_audio_format), e.audio_end_ms);
    const active = this.activeResponse;
    const cut = played && played.audioEndMs < played.sentMs ? played : null;
    if (!active && !cut) {
      return this.host.send(serverEvents.error({ code: 'response_cancel_not_active', message: 'Interrupt failed: no active response found.', ...(e.event_id ? { event_id: e.event_id } : {}) }));
    }
    if (cut) this.played.forget(cut.itemId);
    if (active) {
      if (cut) this.truncateAfter = { responseId: active.id, itemId: cut.itemId, audioEndMs: cut.audioEndMs };
      this.forward({ type: 'response.cancel', ...(e.event_id ? { event_id: e.event_id } : {}) });
    } else if (cut) {
      this.forward({ type: 'conversation.item.truncate', item_id: cut.itemId, content_index: 0, audio_end_ms: cut.audioEndMs });
    }
  }

  // ------------------------------------------------------------------ upstream → client

  /** Upstream events in arrival order, even when one waits for Redis (a stored session). */
  private upstreamQueue: Promise<void> = Promise.resolve();

  private onUpstreamEvent(u: UpstreamEvent): void {
    this.upstreamQueue = this.upstreamQueue
      .then(() => this.handleUpstreamEvent(u))
      .catch((err: Error) => this.s.log.warn({ call_id: this.call.id, err: err.message }, 'upstream event handling failed'));
  }

  private async handleUpstreamEvent(u: UpstreamEvent): Promise<void> {
    if (this.closed) return;
    if (!u.known) {
      // GA-only or malformed events have no internal shape; the client protocol has no place for them.
      if (u.issue !== undefined) this.shapeDifference(u.event.type, `not relayed: ${u.issue}`);
      else this.s.log.debug({ call_id: this.call.id, type: u.event.type }, 'upstream event not relayed');
      // Whatever its shape, a session.updated confirms the session.update it answers: the call goes on.
      if (u.event.type === 'session.updated') return this.onSessionUpdated();
      return;
    }
    if (u.note !== undefined) this.shapeDifference(u.event.type, u.note);
    const e = u.event;
    switch (e.type) {
      case 'session.created':
      case 'conversation.created':
        return; // the client gets ours: the business's session, our conversation id
      case 'session.updated':
        return this.onSessionUpdated();
      case 'error':
        if (this.onSessionError(e)) return;
        break;
      case 'response.created':
        this.activeResponse = e.response;
        break;
      case 'response.output_item.added':
        if (e.item.type === 'function_call') this.functionNames.set(e.item.call_id, e.item.name);
        break;
      case 'response.function_call_arguments.done':
        if (e.name === undefined) {
          const name = this.functionNames.get(e.call_id);
          if (name) return this.relay({ ...e, name });
        }
        break;
      case 'response.audio.delta':
        this.played.sent(e.item_id, Buffer.byteLength(e.delta, 'base64'));
        break;
    }
    this.relay(e, u.frame);
  }

  /** Upstream shape differences, logged once per call and event type (a realtime call sees thousands of events). */
  private readonly shapeNoted = new Set<string>();

  private shapeDifference(type: string, detail: string): void {
    if (this.shapeNoted.has(type)) return;
    this.shapeNoted.add(type);
    this.s.log.warn({ call_id: this.call.id, type, detail }, 'upstream event differs from the reference shape');
  }

  private relay(e: ServerEvent, frame?: Uint8Array): void {
    this.host.send(e, frame && this.upstream ? { dialect: this.upstream.dialect, bytes: frame } : undefined);
    if (this.upstream?.dialect === 'beta') this.synthesizeItemDone(e);
    this.stage.observe(e);
    this.history.observe(e);
    if (e.type === 'response.output_item.done' && e.item.type === 'function_call' && e.item.status !== 'incomplete') {
      this.functionNames.delete(e.item.call_id);
      this.tools.onFunctionCall(e.response_id, e.item, null);
    }
    if (e.type === 'response.done') this.onResponseDone(e.response);
  }

  /** A beta upstream has no conversation.item.done; GA clients expect one when an item is final. */
  private synthesizeItemDone(e: ServerEvent): void {
    if (e.type === 'conversation.item.created' && e.item.status === 'completed') {
      this.host.send(serverEvents.itemDone(e.item, e.previous_item_id ?? null));
    } else if (e.type === 'response.output_item.done') {
      this.host.send(stamp({ type: 'conversation.item.done', item: e.item }));
    }
  }

  private onResponseDone(r: RealtimeResponse): void {
    if (this.activeResponse?.id === r.id) this.activeResponse = null;
    const t = this.truncateAfter;
    if (t && t.responseId === r.id) {
      this.truncateAfter = null;
      this.forward({ type: 'conversation.item.truncate', item_id: t.itemId, content_index: 0, audio_end_ms: t.audioEndMs });
    }
    this.tools
      .onResponseDone(r.id, r.status)
      .then((handedBack) => {
        if (!handedBack && this.callAction) this.carryOutCallAction(r.id);
      })
      .catch((err: Error) => this.s.log.warn({ call_id: this.call.id, err: err.message }, 'realtime tool hand-back failed'));
  }

  /** end_call / transfer_to_human, once the answer has played (audio arrives ahead of real time). */
  private carryOutCallAction(responseId: string): void {
    const { action, reason } = this.callAction!;
    this.callAction = null;
    const played = this.played.played(bytesPerMs(this.session.output_audio_format));
    const remainingMs = played ? Math.max(0, played.sentMs - played.audioEndMs) : 0;
    this.stage.callAction({ call_action: action, reason: reason ?? null, after_ms: Math.round(remainingMs) }, responseId);
    carryOutCallAction(this.host, action, reason, remainingMs, () => this.closed);
  }

  private async onSessionUpdated(): Promise<void> {
    if (this.injection) return this.injection.resolve();
    const next = this.pendingSessions.shift();
    if (next) {
      this.session = next.session;
      // Stored before the client hears of it, so GET /v1/calls/:id and a chained fallback agree with it.
      await this.s.calls.updateSession(this.call.id, next.session);
    }
    this.host.send(serverEvents.sessionUpdated(clientSession(this.session, this.call.id)));
  }

  /** Errors answering our session injection or a client's session.update; true when handled here. */
  private onSessionError(e: Extract<ServerEvent, { type: 'error' }>): boolean {
    const id = e.error.event_id;
    if (!id) return false;
    if (this.injection?.eventId === id) {
      this.injection.reject(new Error(`the realtime provider rejected the session: ${e.error.message}`));
      return true;
    }
    const i = this.pendingSessions.findIndex((p) => p.eventId === id);
    if (i >= 0) this.pendingSessions.splice(i, 1);
    return false;
  }

  // ------------------------------------------------------------------ upstream failure

  /**
   * The upstream refused the connection or dropped it. The client hears why (a running reply
   * ends as failed), then, per business, the call ends cleanly or continues in chained mode.
   */
  private async upstreamFailed(kind: 'connect' | 'drop', detail: string, err?: UpstreamConnectError): Promise<void> {
    if (this.closed || this.failed) return;
    this.failed = true;
    this.upstream = null;
    this.tools.close();
    this.injection?.reject(new Error(`the realtime provider ${detail}`));
    const toChained = this.business.realtime_fallback === 'chained';
    const active = this.activeResponse;
    this.activeResponse = null;
    if (active) {
      const error = { type: 'server_error', code: 'upstream_disconnected' };
      this.host.send(stamp({ type: 'response.done', response: { ...active, status: 'failed', status_details: { type: 'failed', error } } }));
    }
    const rateLimited = err?.status === 429;
    const what = kind === 'connect' ? `Could not reach the realtime provider (${detail})` : `The realtime provider connection was lost (${detail})`;
    const then = toChained ? 'The call continues in chained mode.' : 'The call ends.';
    this.host.send(
      serverEvents.error({
        type: rateLimited ? 'rate_limit_error' : 'server_error',
        code: rateLimited ? 'rate_limit_exceeded' : kind === 'connect' ? 'upstream_unavailable' : 'upstream_disconnected',
        message: `${what}. ${rateLimited && err?.retryAfterS != null ? `Retry after ${err.retryAfterS} s. ` : ''}${then}`,
      }),
    );
    this.stage.upstreamFailed({ kind, detail, status: err?.status ?? null, then: toChained ? 'chained' : 'end_call' });
    this.s.log.warn({ call_id: this.call.id, kind, detail }, 'realtime upstream failed');
    if (!toChained) return this.host.hangup('upstream_failed');
    this.fallback = this.startChained().catch((e: Error) => {
      this.s.log.error({ call_id: this.call.id, err: e.message }, 'chained fallback failed');
      this.host.hangup('upstream_failed');
      return null;
    });
    await this.fallback;
  }

  private async startChained(): Promise<CallDriver> {
    const session = chainedFallbackSession(this.session, this.s.config.llm.model);
    const record: CallRecord = { ...this.call, mode: 'chained', session };
    await this.s.calls.update(record);
    // Mid-call the client already has its session and conversation; the chained driver's own announcements are dropped.
    let skip = this.announced ? new Set(['session.created', 'conversation.created']) : new Set<string>();
    const host: DriverHost = {
      send: (e) => {
        if (skip.delete(e.type)) return;
        this.host.send(e);
      },
      hangup: (reason) => this.host.hangup(reason),
    };
    const driver = new ChainedCall(this.s, record, this.business, host);
    await driver.start();
    skip = new Set();
    return driver;
  }
}
