/**
 * One live call in this gateway process, whatever carries it (WebSocket, HTTP session, Twilio).
 * The host owns everything that is the same for every transport: the call driver, the one ordered
 * queue into it, error events, server hang-ups and the process-local 'hangup' signal, the
 * concurrent-call heartbeat, recording the events for SSE readers, the end of the call (driver
 * close, recorder flush, calls.end, hangups.publish) and graceful-shutdown tracking. A transport
 * is only how bytes and events reach the caller (the model: openai-agents-js's transport layer,
 * pipecat's transports + serializers).
 *
 * Every host of a process is listed in its LiveCalls (one per Services), which keeps two
 * call-wide rules for every transport and across gateways (the signals of adapters/hangups.ts):
 * - One live driver per call: a new host replaces the call's others (their transports close
 *   with REPLACED_CODE; the call goes on in the new one). Every host announces itself on the one
 *   Redis channel, and every gateway sees the announcements in the same order: a host gives way
 *   to an announcement that comes after its own, so exactly the last one stays.
 * - A host opened with a business key that is revoked hangs up (REVOKED_CODE).
 */
import { randomUUID } from 'node:crypto';
import type { Business } from '../../contracts/business';
import type { CallRecord } from '../../contracts/call';
import type { ClientEvent, ServerEvent } from '../../contracts/realtime';
import { serverEvents } from '../../core/protocol';
import type { Logger } from '../../logger';
import { createDriver } from '../../modes/create-driver';
import type { AudioSink, CallDriver, WireFrame } from '../../modes/driver';
import type { Services } from '../../services';
import { CallEventLog, CallEventRecorder } from './event-log';
import { recordings, type CallRecorder } from '../../recording';
import type { CallOwnership } from './ownership';

/** How a call's events and its end reach the caller. */
export interface CallTransport {
  /** Delivers one server event (already recorded for SSE readers); a closed transport drops it. */
  deliver(event: ServerEvent, frame?: WireFrame): void;
  /**
   * The server ends the call (a hang-up, the end_call tool, the 'hangup' signal) or the host gives
   * way: close the connection, with `code` when the transport has close codes (WebSocket). The
   * host ends the call itself; a transport without a connection does nothing.
   */
  close(reason: string, code?: number): void;
  /** transfer_to_human, once the answer has played: a transport that can bridge to a person (Twilio). */
  transfer?(reason: string | undefined): void;
  /** Set when the transport plays the agent's audio itself (driver.ts AudioSink); it then gets no audio deltas. */
  audio?: AudioSink;
}

export interface CallHostOptions {
  call: CallRecord;
  business: Business;
  transport: CallTransport;
  log: Logger;
  /** Record the audio deltas too: set when SSE is the transport's only way out. */
  recordAudio: boolean;
  /** The record the driver starts from, when it differs from `call` (e.g. turn detection off). */
  driverCall?: CallRecord;
  /** Called once the host has ended: every event recorded, the call record ended (unless replaced). */
  onEnded?: (reason: string) => void;
  /** The business key the transport was opened with: its revocation closes the transport. */
  keyId?: string | null;
}

/** WebSocket close code of a connection replaced by a newer one of the same call (the call goes on there). */
export const REPLACED_CODE = 4001;
/** WebSocket close code when the business key the connection was opened with is revoked. */
export const REVOKED_CODE = 4003;

export class CallHost {
  readonly call: CallRecord;
  readonly log: Logger;
  /** This driver's id in the 'driver' announcements. */
  readonly id = randomUUID();
  readonly keyId: string | null;
  /** Its own announcement has come back: later announcements of the call replace it. */
  armed = false;
  private readonly driver: CallDriver;
  private readonly transport: CallTransport;
  private readonly recorder: CallEventRecorder;
  /** The call's audio recording (business.recording), if any. */
  private readonly recording: CallRecorder | null;
  private readonly live: LiveCalls;
  private queue: Promise<void> = Promise.resolve();
  private readonly heartbeat: NodeJS.Timeout;
  private endedWith: Promise<void> | null = null;
  /** Why the server hung up, if it did: the call ends for that reason, not for the closed connection. */
  private hungUpFor: string | null = null;
  private readonly onSignal = (callId: string) => {
    if (callId === this.call.id) this.hangup('hangup');
  };

  constructor(
    private readonly s: Services,
    private readonly o: CallHostOptions,
  ) {
    this.call = o.call;
    this.log = o.log;
    this.transport = o.transport;
    this.keyId = o.keyId ?? null;
    this.live = liveCalls(s);
    this.recorder = new CallEventRecorder(this.live.eventLog, o.call.id, o.log, { skipAudio: !o.recordAudio });
    this.recording = recordings(s).start(o.call, o.business, o.log, !o.recordAudio); // SSE-only (HTTP) calls fetch answers whole
    const driver = createDriver(s, o.driverCall ?? o.call, o.business, {
      send: (e, frame) => this.send(e, frame),
      hangup: (reason) => this.hangup(reason),
      ...(o.transport.transfer ? { transfer: (reason) => o.transport.transfer!(reason) } : {}),
      ...(o.transport.audio ? { audio: this.recording?.tapSink(o.transport.audio) ?? o.transport.audio } : {}),
    });
    this.driver = this.recording?.tapDriver(driver) ?? driver;
    s.events.on('hangup', this.onSignal);
    // Keeps the call counted against the business's concurrent-call limit while it is live here.
    this.heartbeat = setInterval(() => void s.concurrency.heartbeat(o.call.business_id, o.call.id).catch(() => {}), s.concurrency.staleMs / 4);
    this.heartbeat.unref();
    this.live.add(this);
    void s.hangups.announceDriver(o.call.id, this.id);
    // HTTP requests for the call on other gateways are forwarded here from now on (ownership.ts).
    void this.live.ownership?.take(o.call.id).catch(() => {});
  }

  get ended(): boolean {
    return this.endedWith !== null;
  }

  /** Resolves when an end that has begun is complete; null while the call is live. */
  get ending(): Promise<void> | null {
    return this.endedWith;
  }

  /** Starts the driver (session.created, the upstream connection, the output reader). */
  start(): Promise<void> {
    return this.run((d) => d.start());
  }

  /**
   * Runs `fn` on the driver after everything queued before it (an append must land before the
   * commit after it). A failure becomes an error event and the call goes on; the returned
   * promise still rejects, for a caller that waits on it.
   */
  run<T>(fn: (driver: CallDriver) => Promise<T> | T): Promise<T> {
    const p = this.queue.then(() => fn(this.driver));
    this.queue = p.then(
      () => undefined,
      (err: Error) => {
        this.log.error({ err: err.message }, 'call driver error');
        this.send(serverEvents.error({ type: 'server_error', code: 'internal_error', message: 'Internal error; the call goes on.' }));
      },
    );
    return p;
  }

  /** Raw audio in the session's input format, in order with the client events. */
  audio(bytes: Uint8Array): Promise<void> {
    return this.run((d) => d.onAudio(bytes));
  }

  clientEvent(e: ClientEvent): Promise<void> {
    return this.run((d) => d.onClientEvent(e));
  }

  /** Records a server event for SSE readers and delivers it to the caller. */
  send(e: ServerEvent, frame?: WireFrame): void {
    this.recorder.record(e);
    this.recording?.serverEvent(e);
    const sink = this.transport.audio;
    if (sink && e.type === 'response.audio.delta') return sink.push(e.item_id, Buffer.from(e.delta, 'base64'));
    if (sink && e.type === 'response.audio.done') sink.finish(e.item_id);
    this.transport.deliver(e, frame);
  }

  /** The server ends the call: the transport closes its connection, and the call ends for `reason`. */
  hangup(reason: string, code?: number): void {
    if (this.endedWith) return;
    this.log.info({ reason }, 'server hangs up');
    this.hungUpFor ??= reason;
    this.transport.close(reason, code);
    void this.end(reason);
  }

  /**
   * A newer driver took the call: close this transport and driver, and leave the call, its
   * record and its concurrent-call slot to the new one.
   */
  giveWay(): Promise<void> {
    if (this.endedWith) return this.endedWith;
    this.log.info('replaced by a newer connection of the call');
    this.endedWith = this.finish('replaced', { replaced: true });
    this.transport.close('replaced', REPLACED_CODE);
    return this.endedWith;
  }

  /** Every event recorded so far is in Redis. */
  flushed(): Promise<void> {
    return this.recorder.flushed();
  }

  /**
   * Ends the call (idempotent): after the queued work, closes the driver (cancelling what runs),
   * waits for the events to be recorded (an SSE reader that sees the call ended has them all),
   * ends the call record and tells every gateway (SSE readers drain and close, other transports
   * of the call close). `reason` is the transport's, unless the server hung up first.
   */
  end(reason: string): Promise<void> {
    this.endedWith ??= this.finish(this.hungUpFor ?? reason);
    return this.endedWith;
  }

  private async finish(reason: string, o: { replaced?: boolean } = {}): Promise<void> {
    clearInterval(this.heartbeat);
    this.s.events.off('hangup', this.onSignal);
    const done = (async () => {
      await this.queue;
      await this.driver.close(reason).catch((err: Error) => this.log.warn({ err: err.message }, 'driver close failed'));
      await this.recorder.flushed();
      // A replaced host leaves the call (and its recording) to its successor.
      if (!o.replaced) {
        await this.recording?.finish(); // before the end: an ended call's recording is there
        await this.s.calls.end(this.call.id, reason);
      }
      this.live.remove(this);
      this.o.onEnded?.(reason);
      // A replaced host leaves the claim to its successor (on this gateway, the claim is the same).
      if (o.replaced) return;
      void this.live.ownership?.release(this.call.id).catch(() => {});
      // A 'hangup' signal came from a publish: every gateway has heard it already.
      if (reason !== 'hangup') void this.s.hangups.publish(this.call.id);
    })();
    this.live.track(done);
    await done;
  }
}

/** The live calls of one gateway process, and the ends still under way (graceful shutdown waits for them). */
export class LiveCalls {
  readonly eventLog: CallEventLog;
  /** The gateway's claims on calls (set by CallSessions, which keeps them fresh). */
  ownership: CallOwnership | null = null;
  private readonly hosts = new Map<string, Set<CallHost>>();
  private readonly endings = new Set<Promise<void>>();

  constructor(s: Services) {
    this.eventLog = new CallEventLog(s.redis, s.keys, s.config.callTtlS);
    s.events.on('driver', (callId: string, hostId: string) => this.announced(callId, hostId));
    s.events.on('revoked', (keyId: string) => {
      for (const set of this.hosts.values()) for (const h of set) if (h.keyId === keyId) h.hangup('key_revoked', REVOKED_CODE);
    });
  }

  /** A driver of the call announced itself (on any gateway): the ones announced before it give way. */
  private announced(callId: string, hostId: string): void {
    for (const h of this.of(callId)) {
      if (h.id === hostId) h.armed = true;
      else if (h.armed) void h.giveWay();
    }
  }

  /** The calls with a live driver here. */
  callIds(): string[] {
    return [...this.hosts.keys()].filter((id) => this.driving(id));
  }

  /** The call has a live driver here (a host that has not begun ending). */
  driving(callId: string): boolean {
    return this.of(callId).some((h) => !h.ended);
  }

  /** The hosts of a call in this process (a call may have several connections). */
  of(callId: string): CallHost[] {
    return [...(this.hosts.get(callId) ?? [])];
  }

  add(host: CallHost): void {
    let set = this.hosts.get(host.call.id);
    if (!set) this.hosts.set(host.call.id, (set = new Set()));
    set.add(host);
  }

  remove(host: CallHost): void {
    const set = this.hosts.get(host.call.id);
    set?.delete(host);
    if (set?.size === 0) this.hosts.delete(host.call.id);
  }

  /** Resolves once every host of the call here that has begun ending has ended. */
  async whenEnded(callId: string): Promise<void> {
    await Promise.all(this.of(callId).map((h) => h.ending));
  }

  track(work: Promise<void>): void {
    const settled = work.catch(() => undefined);
    this.endings.add(settled);
    void settled.finally(() => this.endings.delete(settled));
  }

  /** Resolves when every call that has begun ending has ended. */
  async allEnded(): Promise<void> {
    await Promise.all([...this.endings]);
  }
}

const registries = new WeakMap<Services, LiveCalls>();

/** The one LiveCalls of a gateway (one per Services), created on first use. */
export function liveCalls(s: Services): LiveCalls {
  let r = registries.get(s);
  if (!r) registries.set(s, (r = new LiveCalls(s)));
  return r;
}
