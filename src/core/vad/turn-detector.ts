/**
 * Turn detection for one call's input: the VAD plus a ring buffer of the last
 * seconds of 16 kHz audio, so a finished turn comes with its audio (from
 * audioStartMs, which includes prefix padding, to audioEndMs).
 *
 * With options = null there is no VAD (turn_detection: null): audio is only
 * buffered until commit() — the input_audio_buffer.commit of the protocol.
 *
 * Memory is bounded: the ring holds MAX_UTTERANCE_MS plus slack (≈ 2 MB).
 * - VAD mode: an utterance reaching MAX_UTTERANCE_MS (60 s) is ended there
 *   (speech_stopped at the cap, no silence added); if the caller keeps
 *   talking, the VAD starts a new turn as soon as it confirms speech again.
 * - Manual mode: only the most recent MAX_UTTERANCE_MS are kept; older audio
 *   is dropped and commit() reports the later audioStartMs honestly.
 */
import { Vad, type VadOptions } from './vad';

export const TURN_SAMPLE_RATE = 16000;
export const MAX_UTTERANCE_MS = 60_000;
const SLACK_MS = 5_000; // prefix padding, onset backtracking and confirmation delay
const CAPACITY = ((MAX_UTTERANCE_MS + SLACK_MS) * TURN_SAMPLE_RATE) / 1000;
/**
 * The ring starts small (a call is mostly short turns and silence) and doubles up to CAPACITY
 * only while a long utterance or a manual buffer needs it; it shrinks back after the turn. This
 * keeps an idle call's buffer near 200 KB instead of 2 MB.
 */
const INITIAL_CAPACITY = ((SLACK_MS + 1_000) * TURN_SAMPLE_RATE) / 1000;
const SAMPLES_PER_MS = TURN_SAMPLE_RATE / 1000;
/** Large pushes are fed in slices so the cap is enforced before the ring wraps. */
const MAX_SLICE = TURN_SAMPLE_RATE;
/** Shared, frozen: push returns it when nothing happened, so a 20 ms chunk allocates nothing. */
const NO_EVENTS = Object.freeze([]) as unknown as TurnEvent[];

export type TurnEvent =
  | { type: 'speech_started'; audioStartMs: number }
  /** `speechEndMs`: where the speech itself ended (audioEndMs less the closing silence). */
  | { type: 'speech_stopped'; audioEndMs: number; speechEndMs: number; audio: Int16Array };

export interface CommittedAudio {
  audio: Int16Array;
  audioStartMs: number;
  audioEndMs: number;
}

export class TurnDetector {
  private vad: Vad | null = null;
  /** Session sample at which the current VAD's timeline starts. */
  private vadOrigin = 0;
  private ring = new Int16Array(INITIAL_CAPACITY);
  private cap = INITIAL_CAPACITY;
  /** Samples pushed since the session began. */
  private total = 0;
  /** First sample not yet handed over (last turn end, commit or clear). */
  private pendingFrom = 0;
  /** Start of the turn in progress (session samples), or -1. */
  private turnStart = -1;

  constructor(o: VadOptions | null) {
    this.updateOptions(o);
  }

  /** Switch between VAD and manual turns, or retune the VAD; the timeline carries on. */
  updateOptions(o: VadOptions | null): void {
    if (o === null) {
      this.vad = null;
      this.turnStart = -1;
      return;
    }
    const opts = { ...o, sampleRate: TURN_SAMPLE_RATE };
    if (this.vad) this.vad.setOptions(opts);
    else {
      this.vad = new Vad(opts);
      this.vadOrigin = this.total;
    }
  }

  get vadEnabled(): boolean {
    return this.vad !== null;
  }

  /** Audio waiting since the last turn, commit or clear (capped by the ring). */
  get bufferedMs(): number {
    return (this.total - this.readableFrom(this.pendingFrom)) / SAMPLES_PER_MS;
  }

  /** Milliseconds of audio pushed since the session began. */
  get currentMs(): number {
    return this.total / SAMPLES_PER_MS;
  }

  /** Copies the chunk in and keeps no reference to it; the result is shared when empty (do not modify it). */
  push(samples16k: Int16Array): TurnEvent[] {
    let events: TurnEvent[] | null = null;
    const cap = MAX_UTTERANCE_MS * SAMPLES_PER_MS;
    for (let at = 0; at < samples16k.length; ) {
      let n = Math.min(samples16k.length - at, MAX_SLICE);
      // Cut the slice at the utterance cap so a capped turn is exactly MAX_UTTERANCE_MS long.
      if (this.vad && this.turnStart >= 0) n = Math.max(1, Math.min(n, this.turnStart + cap - this.total));
      // The whole chunk is one slice (the usual case): no view to make.
      const slice = at === 0 && n === samples16k.length ? samples16k : samples16k.subarray(at, at + n);
      at += n;
      this.write(slice);
      if (!this.vad) continue;
      // Indexed, not for…of: V8 did not elide the iterator here, and it was most of the per-chunk garbage.
      const vadEvents = this.vad.push(slice);
      for (let i = 0; i < vadEvents.length; i++) {
        const ev = vadEvents[i]!;
        (events ??= []).push(this.toTurnEvent(ev.type, ev.type === 'speech_started' ? ev.audioStartMs : ev.audioEndMs));
      }
      if (this.turnStart >= 0 && this.total - this.turnStart >= cap && this.vad.endTurn()) {
        (events ??= []).push(this.toTurnEvent('speech_stopped', (this.total - this.vadOrigin) / SAMPLES_PER_MS));
      }
    }
    return events ?? NO_EVENTS;
  }

  /**
   * In a turn: where its speech has ended so far (session ms; later silence not counted), so a
   * caller can act on a pause before silence_duration_ms ends the turn. Null outside a turn.
   */
  get speechEndMs(): number | null {
    if (!this.vad?.speaking || this.turnStart < 0) return null;
    return this.vadOrigin / SAMPLES_PER_MS + this.vad.lastVoicedEndMs;
  }

  /** The turn in progress so far, from its start (prefix padding included); empty outside a turn. */
  turnAudio(): Int16Array {
    return this.turnStart < 0 ? new Int16Array(0) : this.read(this.readableFrom(this.turnStart), this.total);
  }

  /** Manual commit: everything buffered since the last turn/commit/clear; null if empty. */
  commit(): CommittedAudio | null {
    const from = this.readableFrom(this.pendingFrom);
    const to = this.total;
    this.pendingFrom = to;
    this.turnStart = -1;
    this.vad?.reset();
    if (to <= from) return null;
    const audio = this.read(from, to);
    if (this.cap > INITIAL_CAPACITY) this.resize(INITIAL_CAPACITY);
    return { audio, audioStartMs: from / SAMPLES_PER_MS, audioEndMs: to / SAMPLES_PER_MS };
  }

  /** Drop buffered audio and any turn in progress (input_audio_buffer.clear). */
  clear(): void {
    this.pendingFrom = this.total;
    this.turnStart = -1;
    this.vad?.reset();
    if (this.cap > INITIAL_CAPACITY) this.resize(INITIAL_CAPACITY);
  }

  /** Bytes held by the audio buffer (for memory accounting). */
  get bufferBytes(): number {
    return this.ring.byteLength;
  }

  private toTurnEvent(type: 'speech_started' | 'speech_stopped', vadMs: number): TurnEvent {
    const sample = Math.min(this.total, this.vadOrigin + Math.round(vadMs * SAMPLES_PER_MS));
    if (type === 'speech_started') {
      // Padding never reaches back past audio already handed over or dropped.
      this.turnStart = Math.max(sample, this.readableFrom(this.pendingFrom));
      return { type, audioStartMs: this.turnStart / SAMPLES_PER_MS };
    }
    const from = this.turnStart >= 0 ? this.readableFrom(this.turnStart) : this.readableFrom(this.pendingFrom);
    const audio = this.read(from, sample);
    const speechEndMs = Math.min(sample / SAMPLES_PER_MS, this.vadOrigin / SAMPLES_PER_MS + (this.vad?.lastVoicedEndMs ?? 0));
    this.pendingFrom = sample;
    this.turnStart = -1;
    if (this.cap > INITIAL_CAPACITY) this.resize(INITIAL_CAPACITY);
    return { type, audioEndMs: sample / SAMPLES_PER_MS, speechEndMs, audio };
  }

  private readableFrom(sample: number): number {
    return Math.max(sample, this.total - this.cap);
  }

  /** The oldest sample a later event or commit may still hand over. */
  private oldestNeeded(): number {
    if (!this.vad) return this.pendingFrom;
    return this.turnStart >= 0 ? this.turnStart : this.total - (SLACK_MS * TURN_SAMPLE_RATE) / 1000;
  }

  /** Re-lays the ring at a new capacity, keeping the newest samples at their positions mod cap. */
  private resize(cap: number): void {
    const keep = Math.min(this.total, this.cap, cap);
    const from = this.total - keep;
    const old = this.read(from, this.total);
    this.ring = new Int16Array(cap);
    this.cap = cap;
    const pos = from % cap;
    const first = Math.min(keep, cap - pos);
    this.ring.set(old.subarray(0, first), pos);
    if (first < keep) this.ring.set(old.subarray(first), 0);
  }

  private write(s: Int16Array): void {
    const needed = this.total + s.length - Math.max(0, this.oldestNeeded());
    if (needed > this.cap && this.cap < CAPACITY) this.resize(Math.min(CAPACITY, Math.max(needed, this.cap * 2)));
    // s is at most MAX_SLICE < cap samples.
    const pos = this.total % this.cap;
    const first = Math.min(s.length, this.cap - pos);
    // Copied: the caller may reuse `s` (InputDecoder.pushView) once push returns.
    if (first === s.length) this.ring.set(s, pos);
    else {
      this.ring.set(s.subarray(0, first), pos);
      this.ring.set(s.subarray(first), 0);
    }
    this.total += s.length;
  }

  /** Copy out [from, to) (session samples); the range must still be in the ring. */
  private read(from: number, to: number): Int16Array {
    const out = new Int16Array(Math.max(0, to - from));
    const pos = from % this.cap;
    const first = Math.min(out.length, this.cap - pos);
    out.set(this.ring.subarray(pos, pos + first));
    if (first < out.length) out.set(this.ring.subarray(0, out.length - first), first);
    return out;
  }
}
