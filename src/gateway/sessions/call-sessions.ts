/**
 * Calls driven over plain HTTP (audio chunks, client events, one-shot turns) have no socket to
 * live in, so their call driver lives here: one CallSession per call, in one gateway process
 * (ownership.ts), created on first use and kept until hang-up, the end_call tool, or IDLE_MS
 * without requests or event-stream readers. The session is the HTTP transport of a CallHost
 * (call-host.ts), which records every server event in the call's Redis event stream (for SSE);
 * the session hands them to in-process listeners (the one-shot turns route), in order.
 */
import { EventEmitter } from 'node:events';
import type { Business } from '../../contracts/business';
import type { CallRecord } from '../../contracts/call';
import type { ClientEvent, ServerEvent } from '../../contracts/realtime';
import { shouldCommitTurn } from '../../core/turn-commit';
import { ApiError } from '../../errors';
import type { CallDriver } from '../../modes/driver';
import type { Services } from '../../services';
import { AudioInput } from './audio-input';
import { CallHost, liveCalls } from './call-host';
import type { CallEventLog } from './event-log';
import { CallDrivenElsewhere, CallOwnership } from './ownership';

const IDLE_MS = 10 * 60_000;

export type SessionListener = (e: ServerEvent) => void;

export class CallSession {
  /** Turn detection off: the turns route commits and asks for the response itself. */
  readonly manual: boolean;
  readonly input: AudioInput;
  readonly call: CallRecord;
  private readonly host: CallHost;
  private readonly listeners = new Set<SessionListener>();
  private readers = 0;
  private lastActivity = Date.now();
  private turnLock: Promise<unknown> = Promise.resolve();
  /** What the driver said about the caller's turn: speaking (VAD), and audio not committed yet. */
  private vadOn: boolean;
  private speaking = false;
  private uncommitted = 0;

  constructor(s: Services, call: CallRecord, business: Business, manual: boolean, onEnd: (reason: string) => void) {
    this.call = call;
    this.manual = manual;
    this.input = new AudioInput(call.session.input_audio_format);
    this.vadOn = !manual && call.session.turn_detection !== null;
    this.host = new CallHost(s, {
      call,
      business,
      log: s.log.child({ call_id: call.id, transport: 'http' }),
      recordAudio: true, // SSE is this transport's only way out, so its readers get the audio deltas too
      driverCall: manual ? { ...call, session: { ...call.session, turn_detection: null } } : undefined,
      // No connection to close: the host ends the call, which ends the session.
      transport: { deliver: (e) => this.deliver(e), close: () => {} },
      onEnded: (reason) => {
        this.listeners.clear();
        onEnd(reason);
      },
    });
    void this.host.start().catch(() => {});
  }

  get ended(): boolean {
    return this.host.ended;
  }

  /** Resolves when an end that has begun is complete; null while the session is live. */
  get ending(): Promise<void> | null {
    return this.host.ending;
  }

  /** Runs `fn` after everything queued before it (an append must land before the commit after it). */
  run<T>(fn: (driver: CallDriver) => Promise<T> | T): Promise<T> {
    this.touch();
    return this.host.run(fn);
  }

  audio(bytes: Uint8Array): Promise<void> {
    return this.run((d) => {
      this.uncommitted += bytes.length;
      d.onAudio(bytes);
    });
  }

  /**
   * Ends the caller's turn now (`?commit=true`, one-shot turns): commits the pending audio and
   * asks for the answer. With turn detection on, only a turn in progress is committed (the VAD
   * may already have ended it on silence, and answered); without, any audio not yet committed.
   * Returns whether there was something to commit.
   */
  commitTurn(): Promise<boolean> {
    return this.run(async (d) => {
      // The VAD may have ended the turn on the audio just given without having said so yet: a
      // commit then would make a second turn of the trailing silence (issue 20).
      await d.settled?.();
      if (!shouldCommitTurn({ turnDetection: this.vadOn, speaking: this.speaking, uncommittedBytes: this.uncommitted })) return false;
      await d.onClientEvent({ type: 'input_audio_buffer.commit' });
      await d.onClientEvent({ type: 'response.create' });
      return true;
    });
  }

  /** Runs `fn` alone among the session's exclusive tasks (one one-shot turn at a time). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.turnLock.then(fn, fn);
    this.turnLock = p.catch(() => undefined);
    return p;
  }

  clientEvent(e: ClientEvent): Promise<void> {
    return this.run((d) => d.onClientEvent(e));
  }

  subscribe(fn: SessionListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** An event-stream reader keeps the session from idling out while it is connected. */
  attachReader(): () => void {
    this.readers++;
    this.touch();
    return () => {
      this.readers--;
      this.touch();
    };
  }

  touch(): void {
    this.lastActivity = Date.now();
  }

  idleFor(now: number): number {
    return this.readers > 0 ? 0 : now - this.lastActivity;
  }

  /** Every event recorded so far is in Redis. */
  flushed(): Promise<void> {
    return this.host.flushed();
  }

  /** Closes the driver (cancelling what runs), ends the call record; idempotent. */
  end(reason: string): Promise<void> {
    return this.host.end(reason);
  }

  /** The HTTP transport's way out: what the turns route listens to (SSE readers read the recording). */
  private deliver(e: ServerEvent): void {
    if (announcesSession(e)) {
      this.input.format = e.session.input_audio_format;
      this.vadOn = e.session.turn_detection != null;
    } else if (e.type === 'input_audio_buffer.speech_started') this.speaking = true;
    else if (e.type === 'input_audio_buffer.speech_stopped') this.speaking = false;
    else if (e.type === 'input_audio_buffer.committed' || e.type === 'input_audio_buffer.cleared') {
      this.speaking = false;
      this.uncommitted = 0;
    }
    for (const fn of this.listeners) fn(e);
  }
}

function announcesSession(e: ServerEvent): e is Extract<ServerEvent, { type: 'session.updated' | 'session.created' }> {
  return (e.type === 'session.updated' || e.type === 'session.created') && typeof e.session.input_audio_format === 'string';
}

/** The HTTP-driven sessions of this process, by call id. */
export class CallSessions {
  readonly eventLog: CallEventLog;
  /** 'ended' (callId, reason) after a session's last event is recorded. */
  readonly signals = new EventEmitter().setMaxListeners(0);
  /** Which gateway drives each HTTP call (several gateways: one driver per call). */
  readonly ownership: CallOwnership;
  private readonly sessions = new Map<string, CallSession>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly s: Services,
    private readonly idleMs = IDLE_MS,
  ) {
    this.eventLog = liveCalls(s).eventLog;
    // Each session's host keeps its call's concurrent-call heartbeat and hears hang-ups itself.
    const every = Math.min(60_000, s.concurrency.staleMs / 4, Math.max(1_000, idleMs / 4));
    this.ownership = new CallOwnership(s.redis, s.keys, 3 * every);
    liveCalls(s).ownership = this.ownership; // connections claim their calls too
    this.sweeper = setInterval(() => this.sweep(), every).unref();
  }

  get(callId: string): CallSession | undefined {
    return this.sessions.get(callId);
  }

  /**
   * The call's live session, or a new one (`manual`: turn detection off). A session keeps its
   * turn-taking style for life; with `exact`, a live session of the other style is a 409. When
   * another gateway drives the call, throws CallDrivenElsewhere (the app forwards the request).
   */
  async open(callId: string, o: { manual: boolean; exact?: boolean }): Promise<CallSession> {
    const live = this.sessions.get(callId);
    if (live && !live.ended) {
      if (o.exact && live.manual !== o.manual && live.call.session.turn_detection !== null) {
        throw ApiError.conflict(
          live.manual
            ? `Call '${callId}' is driven by one-shot turns (no turn detection); post audio with ?commit=true to end a turn.`
            : `Call '${callId}' is streaming audio with turn detection; use POST /v1/calls/${callId}/audio instead of one-shot turns.`,
          'call_mode_conflict',
        );
      }
      return live;
    }
    const call = await this.s.calls.get(callId);
    if (!call) throw ApiError.notFound('call', callId);
    if (call.status === 'ended') throw ApiError.conflict(`Call '${callId}' has ended.`, 'call_ended');
    const business = await this.s.businesses.get(call.business_id);
    if (!business) throw ApiError.notFound('business', call.business_id);
    // One driver per call: a connection (WebSocket, Twilio) drives it here; HTTP does not take it over.
    if (liveCalls(this.s).driving(callId)) {
      throw ApiError.conflict(`Call '${callId}' is connected over a WebSocket or phone stream; send its events and audio there.`, 'call_connected');
    }
    const owner = await this.ownership.claim(callId);
    if (owner) throw new CallDrivenElsewhere(callId, owner);
    const again = this.sessions.get(callId); // another request may have opened it meanwhile
    if (again && !again.ended) return this.open(callId, o);
    const session = new CallSession(this.s, call, business, o.manual, (reason) => {
      if (this.sessions.get(callId) === session) {
        this.sessions.delete(callId);
        void this.ownership.release(callId).catch(() => {});
      }
      this.signals.emit('ended', callId, reason);
    });
    this.sessions.set(callId, session);
    return session;
  }

  /** Once the call's hosts here (any transport) have begun ending: resolves when their last events are recorded. */
  async whenEnded(callId: string): Promise<void> {
    await liveCalls(this.s).whenEnded(callId);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all([...this.sessions.values()].map((x) => x.end('server_shutdown')));
  }

  private sweep(): void {
    const now = Date.now();
    const idle = new Set<string>();
    for (const session of this.sessions.values()) {
      if (session.idleFor(now) > this.idleMs) {
        idle.add(session.call.id);
        void session.end('idle_timeout');
      }
    }
    // Every call driven here keeps its claim: HTTP sessions and connections alike.
    void this.ownership.refresh(liveCalls(this.s).callIds().filter((id) => !idle.has(id))).catch(() => {});
  }
}

const registries = new WeakMap<Services, CallSessions>();

/** The one registry of a gateway (one per Services), created on first use. */
export function callSessions(s: Services): CallSessions {
  let r = registries.get(s);
  if (!r) {
    r = new CallSessions(s);
    registries.set(s, r);
  }
  return r;
}
