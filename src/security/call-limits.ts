/**
 * Per-connection guards for a live call: a message-rate token bucket, an audio-rate check (a
 * client may run ahead of real time by a burst, then at most `audioRealtimeFactor`× real time),
 * and audio frame checks (empty, oversized, not base64). Pure: the caller passes the clock.
 */
import { bytesPerMs, type AudioFormat } from '../core/audio/formats';

export interface CallLimits {
  /** Sustained client messages (text and binary frames) per second, and the bucket size. */
  messagesPerSecond: number;
  messageBurst: number;
  /** Audio may arrive this many times faster than real time, after `audioBurstMs` of head start. */
  audioRealtimeFactor: number;
  audioBurstMs: number;
  /** The largest single audio frame (binary frame or decoded append), in milliseconds of audio. */
  maxFrameMs: number;
}

export const DEFAULT_CALL_LIMITS: CallLimits = {
  messagesPerSecond: 200,
  messageBurst: 1_000,
  audioRealtimeFactor: 4,
  audioBurstMs: 60_000,
  maxFrameMs: 30_000,
};

export interface GuardError {
  type: 'invalid_request_error' | 'rate_limit_error';
  code: string;
  message: string;
  param?: string;
  event_id?: string;
  /** The connection must close after this error. */
  fatal?: boolean;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export class CallGuard {
  private tokens: number;
  private refilledAt: number;
  private dropping = false;
  private audioMs = 0;
  private firstAudioAt: number | null = null;

  constructor(
    private readonly limits: CallLimits,
    private format: AudioFormat,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = limits.messageBurst;
    this.refilledAt = now();
  }

  setFormat(format: AudioFormat): void {
    this.format = format;
  }

  /**
   * Admits one message, or says it is dropped. Only the first drop of a run gets an error, so a
   * flooding client does not get a flood back.
   */
  admit(): { ok: true } | { ok: false; error: GuardError | null } {
    const t = this.now();
    this.tokens = Math.min(this.limits.messageBurst, this.tokens + ((t - this.refilledAt) / 1000) * this.limits.messagesPerSecond);
    this.refilledAt = t;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      this.dropping = false;
      return { ok: true };
    }
    const first = !this.dropping;
    this.dropping = true;
    return {
      ok: false,
      error: first
        ? { type: 'rate_limit_error', code: 'rate_limit_exceeded', message: `Too many messages: at most ${this.limits.messagesPerSecond} per second. Messages are dropped until the rate falls.` }
        : null,
    };
  }

  /** Checks a binary audio frame of `bytes` bytes. */
  audioFrame(bytes: number): GuardError | null {
    if (bytes === 0) return { type: 'invalid_request_error', code: 'audio_frame_empty', message: 'Empty audio frame.' };
    return this.audio(bytes);
  }

  /** Checks the base64 `audio` of an input_audio_buffer.append. */
  appendAudio(b64: string, eventId?: string): GuardError | null {
    const withId = (e: GuardError | null) => (e && eventId ? { ...e, event_id: eventId } : e);
    if (b64.length % 4 !== 0 || !BASE64.test(b64)) {
      return withId({ type: 'invalid_request_error', code: 'invalid_value', message: "Invalid 'audio': not base64.", param: 'audio' });
    }
    if (b64.length === 0) return withId({ type: 'invalid_request_error', code: 'audio_frame_empty', message: 'Empty audio frame.', param: 'audio' });
    const bytes = (b64.length / 4) * 3 - (b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0);
    return withId(this.audio(bytes));
  }

  private audio(bytes: number): GuardError | null {
    const ms = bytes / bytesPerMs(this.format);
    if (ms > this.limits.maxFrameMs) {
      return { type: 'invalid_request_error', code: 'audio_frame_too_large', message: `Audio frame of ${Math.round(ms)} ms; at most ${this.limits.maxFrameMs} ms per frame.` };
    }
    const t = this.now();
    this.firstAudioAt ??= t;
    this.audioMs += ms;
    const allowed = this.limits.audioBurstMs + this.limits.audioRealtimeFactor * (t - this.firstAudioAt);
    if (this.audioMs > allowed) {
      return {
        type: 'rate_limit_error',
        code: 'audio_rate_exceeded',
        message: `Audio is arriving faster than ${this.limits.audioRealtimeFactor}x real time; the call is closed.`,
        fatal: true,
      };
    }
    return null;
  }
}
