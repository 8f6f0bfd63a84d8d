/**
 * A call driver runs one live call in one mode (chained or realtime) behind the same interface,
 * so the call host and its transports (WebSocket, HTTP, Twilio) never care which mode a business
 * uses. Drivers speak the internal (beta-shaped) event model; dialects are translated by the
 * transport. The host (gateway/sessions/call-host.ts) calls the driver one call at a time, in order.
 */
import type { ClientEvent, ServerEvent } from '../contracts/realtime';
import type { Dialect } from '../core/protocol';

/** An event's bytes as the realtime upstream sent them, valid as they are in its dialect. */
export interface WireFrame {
  dialect: Dialect;
  bytes: Uint8Array;
}

/**
 * Where a transport that plays the agent's audio itself (Twilio: paced frames and marks) takes
 * it, as bytes in the session's output format rather than base64 in response.audio.delta events.
 * The sink owns the playback position: on barge-in it knows what the caller heard.
 */
export interface AudioSink {
  /** A chunk of the assistant item's audio, in order. */
  push(itemId: string, audio: Uint8Array): void;
  /** The item's audio is complete (its response.audio.done). */
  finish(itemId: string): void;
}

export interface DriverHost {
  /**
   * Sends one server event to the client (the transport translates it to the client's dialect).
   * With `frame`, a client of that dialect may be sent those bytes instead: the same event.
   */
  send(event: ServerEvent, frame?: WireFrame): void;
  /** Ends the connection from the server side (hang-up, end_call tool). */
  hangup(reason: string): void;
  /**
   * transfer_to_human, once the answer has played: a transport that can bridge the caller to a
   * person (Twilio) does so; without it the transfer is only recorded.
   */
  transfer?(reason: string | undefined): void;
  /**
   * The transport's audio sink, if it plays the audio itself: a driver that makes the audio
   * (chained) pushes it here instead of sending audio deltas; the host turns a relayed driver's
   * deltas (realtime) into pushes.
   */
  audio?: AudioSink;
}

export interface CallDriver {
  start(): Promise<void>;
  onClientEvent(event: ClientEvent): Promise<void>;
  /** Raw audio in the session's input format (binary frames, HTTP chunks, Twilio media). */
  onAudio(bytes: Uint8Array): void;
  /**
   * Resolves once the events caused by the audio given so far have been sent (chained mode: its
   * VAD's turn events, which it sends asynchronously). Without it (realtime mode: the upstream's
   * VAD answers when it does) a caller can only go by the events already sent.
   */
  settled?(): Promise<void>;
  /** The call ends: cancels the response in flight (history keeps what was heard) and lets go of upstreams and readers. */
  close(reason: string): Promise<void>;
}

/** end_call hangs up and transfer_to_human hands the call over, both once `afterMs` has played. */
export function carryOutCallAction(host: DriverHost, action: 'transfer' | 'end', reason: string | undefined, afterMs: number, closed: () => boolean): void {
  const run = action === 'end' ? () => host.hangup('end_call') : host.transfer ? () => host.transfer!(reason) : null;
  if (run) setTimeout(() => !closed() && run(), afterMs).unref();
}
