/**
 * Energy-based voice activity detector implementing the Realtime session's
 * turn_detection server_vad parameters, incrementally, on any chunk size.
 *
 * How it decides. Audio is cut into 10 ms frames; each frame's energy E (dBFS,
 * after a DC blocker) is compared with an adaptive noise floor N (dBFS):
 *
 *   a frame is "loud"    when E > N + margin                (to start speech)
 *   a frame is "voiced"  when E > N + max(4, margin − 5)    (to keep speech going)
 *   margin (dB) = MARGIN_MIN_DB + threshold × MARGIN_SPAN_DB = 3 + 12·threshold
 *
 * so threshold 0 → 3 dB above the floor (very sensitive), the default 0.5 →
 * 9 dB, 1 → 15 dB (only speech well above the noise). E is measured in the
 * speech band (a 300–3,400 Hz band-pass), so hiss and rumble count less. Higher = less sensitive, as in
 * OpenAI's API, though there it is a model probability and here it is energy:
 * the same number will not behave identically.
 *
 * The noise floor. N falls quickly to any quieter frame (a floor can only be
 * overestimated by speech, never underestimated by noise), rises slowly
 * (τ ≈ 200 ms) on quiet non-speech frames, so it follows steady background
 * noise, and never goes below ABS_FLOOR_DB (digital silence would otherwise
 * make any tiny hiss "speech"). During speech it does not follow the speech,
 * but it does rise towards the quietest frame of the last 1.5 s: real speech
 * has pauses that keep that minimum near the noise, while a noise that
 * switched on (a fan, a car) has none, so after ~1.5 s the floor catches up
 * and the "turn" ends. A noise step therefore costs at most one short turn.
 *
 * Turns. A loud frame opens a candidate at its start (the onset, then moved
 * back over the voiced frames just before it, ≤ 200 ms). The candidate
 * becomes speech once minSpeechMs of voiced frames accumulate, with
 * gaps of at most MAX_CANDIDATE_GAP_MS between them; otherwise it is dropped,
 * so a click or a cough never starts a turn. speech_started is emitted at
 * confirmation with audioStartMs = onset − prefixPaddingMs (clamped at 0).
 * Speech ends when silenceDurationMs pass without a voiced frame;
 * speech_stopped carries audioEndMs = end of the last voiced frame +
 * silenceDurationMs, which is also exactly when it is emitted (PROTOCOLS §2:
 * both times bound the audio the turn sends on).
 *
 * The hot path (push) allocates nothing unless an event is emitted.
 */

export interface VadOptions {
  /** Input rate in Hz (default 16000). */
  sampleRate?: number;
  /** 0..1, higher = less sensitive (default 0.5). */
  threshold?: number;
  /** Audio kept before the detected onset (default 300 ms). */
  prefixPaddingMs?: number;
  /** Silence that ends a turn (default 500 ms). */
  silenceDurationMs?: number;
  /** Loud audio needed before a turn starts (default 150 ms). */
  minSpeechMs?: number;
}

export type VadEvent =
  | { type: 'speech_started'; audioStartMs: number }
  | { type: 'speech_stopped'; audioEndMs: number };

export const VAD_DEFAULTS: Required<VadOptions> = {
  sampleRate: 16000,
  threshold: 0.5,
  prefixPaddingMs: 300,
  silenceDurationMs: 500,
  minSpeechMs: 150,
};

const FRAME_MS = 10;
const MARGIN_MIN_DB = 3;
const MARGIN_SPAN_DB = 12;
const HYSTERESIS_DB = 5;
const MIN_VOICED_DB = 4; // the keep-going level never drops below this: noise wobble is ±3 dB
const BACKTRACK_FRAMES = 20; // onset may move back ≤ 200 ms over voiced frames
const HISTORY = 32; // frame energies kept for backtracking
// −60 dBFS: a line that was digitally silent (a muted browser mic) and then carries ordinary
// background noise (≈ −55 dBFS in the speech band) must not start a turn.
const ABS_FLOOR_DB = -60;
const SILENT_DB = -100;
const FLOOR_DOWN = 0.3; // per frame, towards quieter frames
const FLOOR_UP = 0.05; // per frame on quiet non-speech frames (τ ≈ 200 ms)
const FLOOR_UP_IN_SPEECH = 0.02; // per frame towards the 1.5 s minimum
const MIN_BLOCK_FRAMES = 10; // rolling minimum kept in 100 ms blocks…
const MIN_BLOCKS = 15; // …over 1.5 s
const MAX_CANDIDATE_GAP_MS = 60;
const BAND_CENTER_HZ = 1000;
const BAND_Q = 0.35;

/** Shared, frozen: push returns it when nothing happened, so the hot path allocates nothing. */
const NO_EVENTS = Object.freeze([]) as unknown as VadEvent[];

const enum State {
  Silence,
  Candidate,
  Speech,
}

export class Vad {
  private opts: Required<VadOptions> = { ...VAD_DEFAULTS };
  private frameLen = 160;
  private marginDb = 9;
  private voicedDb = 4;
  private readonly energies = new Float64Array(HISTORY);
  /**
   * The finished frame's mean square, handed to onFrame through a typed array:
   * a double passed as an argument to a call V8 does not inline is boxed in a
   * fresh HeapNumber (≈ 16 B per frame, most of the old per-chunk garbage).
   */
  private readonly frameMeanSq = new Float64Array(1);

  // Frame accumulation (state across chunks).
  private frameFill = 0;
  private frameSumSq = 0;
  private bp = bandPass(16000);
  private x1 = 0;
  private x2 = 0;
  private y1 = 0;
  private y2 = 0;
  /** Samples in completed frames since the first push: the timeline. */
  private framesDone = 0;

  private floorDb = Number.NaN;
  private readonly blockMins = new Float64Array(MIN_BLOCKS).fill(Infinity);
  private blockIdx = 0;
  private blockFrames = 0;
  private blockMin = Infinity;

  private state = State.Silence;
  private onsetFrame = 0;
  private loudFrames = 0;
  private lastVoicedFrame = -1; // index of the last voiced frame

  constructor(o?: VadOptions) {
    this.setOptions(o ?? {});
  }

  /** Change parameters mid-stream; the timeline and noise floor carry on. */
  setOptions(o: VadOptions): void {
    const next = { ...this.opts, ...definedOnly(o) };
    if (!(next.threshold >= 0 && next.threshold <= 1)) throw new RangeError(`threshold must be in 0..1, got ${next.threshold}`);
    for (const k of ['prefixPaddingMs', 'silenceDurationMs', 'minSpeechMs'] as const) {
      if (!(next[k] >= 0)) throw new RangeError(`${k} must be ≥ 0, got ${next[k]}`);
    }
    if (!(next.sampleRate >= 1000) || next.sampleRate % 100 !== 0) {
      throw new RangeError(`sampleRate must be a multiple of 100 Hz, got ${next.sampleRate}`);
    }
    if (next.sampleRate !== this.opts.sampleRate && this.framesDone > 0) {
      throw new RangeError('sampleRate cannot change mid-stream; create a new Vad');
    }
    this.opts = next;
    this.frameLen = (next.sampleRate * FRAME_MS) / 1000;
    this.bp = bandPass(next.sampleRate);
    this.marginDb = MARGIN_MIN_DB + next.threshold * MARGIN_SPAN_DB;
    this.voicedDb = Math.min(this.marginDb, Math.max(MIN_VOICED_DB, this.marginDb - HYSTERESIS_DB));
  }

  get options(): Readonly<Required<VadOptions>> {
    return this.opts;
  }

  /** Milliseconds of audio pushed so far (whole frames). */
  get currentMs(): number {
    return this.framesDone * FRAME_MS;
  }

  get speaking(): boolean {
    return this.state === State.Speech;
  }

  /** Where the last voiced frame ended (ms on this VAD's timeline). */
  get lastVoicedEndMs(): number {
    return (this.lastVoicedFrame + 1) * FRAME_MS;
  }

  /** The adaptive noise floor estimate in dBFS (NaN before any audio). */
  get noiseFloorDb(): number {
    return this.floorDb;
  }

  push(samples: Int16Array): VadEvent[] {
    let events = NO_EVENTS;
    const frameLen = this.frameLen;
    let fill = this.frameFill;
    let sumSq = this.frameSumSq;
    const { b0, b2, a1, a2 } = this.bp;
    let x1 = this.x1;
    let x2 = this.x2;
    let y1 = this.y1;
    let y2 = this.y2;
    for (let i = 0; i < samples.length; i++) {
      const x = samples[i]!;
      // Band-pass (speech band): drops DC, rumble and hiss that carry no speech (b1 = 0).
      const y = b0 * x + b2 * x2 - a1 * y1 - a2 * y2;
      x2 = x1;
      x1 = x;
      y2 = y1;
      y1 = y;
      sumSq += y * y;
      if (++fill === frameLen) {
        this.frameMeanSq[0] = sumSq / frameLen;
        const ev = this.onFrame();
        if (ev) {
          if (events === NO_EVENTS) events = [];
          events.push(ev);
        }
        fill = 0;
        sumSq = 0;
      }
    }
    this.frameFill = fill;
    this.frameSumSq = sumSq;
    this.x1 = x1;
    this.x2 = x2;
    this.y1 = y1;
    this.y2 = y2;
    return events;
  }

  /**
   * Ends a turn now (e.g. an utterance hit its length cap): speech_stopped at
   * the current time, or null when not in speech. The next loud audio starts a new turn.
   */
  endTurn(): VadEvent | null {
    const wasSpeech = this.state === State.Speech;
    this.state = State.Silence;
    this.loudFrames = 0;
    return wasSpeech ? { type: 'speech_stopped', audioEndMs: this.currentMs } : null;
  }

  /** Back to silence without events (turn dropped); keeps the timeline and noise floor. */
  reset(): void {
    this.state = State.Silence;
    this.loudFrames = 0;
  }

  private onFrame(): VadEvent | null {
    const meanSq = this.frameMeanSq[0]!;
    const frame = this.framesDone++;
    const e = meanSq > 0 ? Math.max(SILENT_DB, 10 * Math.log10(meanSq / (32768 * 32768))) : SILENT_DB;
    this.trackMinimum(e);
    this.energies[frame % HISTORY] = e;
    if (Number.isNaN(this.floorDb)) this.floorDb = Math.max(ABS_FLOOR_DB, e);
    const floor = this.floorDb;
    const loud = e > floor + this.marginDb;
    const voiced = e > floor + this.voicedDb;

    // Noise floor update (see the header for why it is asymmetric).
    if (e < floor) this.floorDb = floor + FLOOR_DOWN * (e - floor);
    else if (this.state === State.Silence && !loud) this.floorDb = floor + FLOOR_UP * (e - floor);
    else if (this.state === State.Speech) {
      const m = this.rollingMinimum();
      if (m > floor) this.floorDb = floor + FLOOR_UP_IN_SPEECH * (m - floor);
    }
    if (this.floorDb < ABS_FLOOR_DB) this.floorDb = ABS_FLOOR_DB;

    const o = this.opts;
    switch (this.state) {
      case State.Silence:
        if (loud) {
          this.state = State.Candidate;
          this.onsetFrame = frame;
          this.loudFrames = 0;
          this.lastVoicedFrame = frame;
          return this.candidate(frame, true);
        }
        return null;
      case State.Candidate:
        return this.candidate(frame, voiced);
      case State.Speech:
        if (voiced) {
          this.lastVoicedFrame = frame;
          return null;
        }
        if ((frame + 1 - (this.lastVoicedFrame + 1)) * FRAME_MS >= o.silenceDurationMs) {
          this.state = State.Silence;
          return { type: 'speech_stopped', audioEndMs: (this.lastVoicedFrame + 1) * FRAME_MS + o.silenceDurationMs };
        }
        return null;
    }
  }

  private candidate(frame: number, voiced: boolean): VadEvent | null {
    if (voiced) {
      this.loudFrames++;
      this.lastVoicedFrame = frame;
    } else if ((frame - this.lastVoicedFrame) * FRAME_MS > MAX_CANDIDATE_GAP_MS) {
      this.state = State.Silence; // a click or a cough: forget it
      return null;
    }
    if (this.loudFrames * FRAME_MS >= Math.max(FRAME_MS, this.opts.minSpeechMs)) {
      this.state = State.Speech;
      const start = Math.max(0, this.backtrackOnset(frame) * FRAME_MS - this.opts.prefixPaddingMs);
      return { type: 'speech_started', audioStartMs: start };
    }
    return null;
  }

  /**
   * Speech usually fades in below the "loud" level (a soft "wh…"): move the
   * onset back over the voiced frames just before the first loud one.
   */
  private backtrackOnset(now: number): number {
    const limit = Math.max(0, this.onsetFrame - BACKTRACK_FRAMES, now - HISTORY + 1);
    const level = this.floorDb + this.voicedDb;
    let f = this.onsetFrame;
    while (f - 1 >= limit && this.energies[(f - 1) % HISTORY]! > level) f--;
    return f;
  }

  private trackMinimum(e: number): void {
    if (e < this.blockMin) this.blockMin = e;
    if (++this.blockFrames === MIN_BLOCK_FRAMES) {
      this.blockMins[this.blockIdx] = this.blockMin;
      this.blockIdx = (this.blockIdx + 1) % MIN_BLOCKS;
      this.blockFrames = 0;
      this.blockMin = Infinity;
    }
  }

  /** Quietest frame of the last 1.5 s; -Infinity until the window has filled (no evidence yet). */
  private rollingMinimum(): number {
    let min = Infinity;
    for (let i = 0; i < MIN_BLOCKS; i++) {
      const v = this.blockMins[i]!;
      if (v === Infinity) return -Infinity;
      if (v < min) min = v;
    }
    return min;
  }
}

/** RBJ band-pass biquad (0 dB peak) centred on BAND_CENTER_HZ: roughly 300–3,400 Hz. */
function bandPass(rate: number): { b0: number; b2: number; a1: number; a2: number } {
  const w0 = (2 * Math.PI * Math.min(BAND_CENTER_HZ, rate / 4)) / rate;
  const alpha = Math.sin(w0) / (2 * BAND_Q);
  const a0 = 1 + alpha;
  return { b0: alpha / a0, b2: -alpha / a0, a1: (-2 * Math.cos(w0)) / a0, a2: (1 - alpha) / a0 };
}

function definedOnly(o: VadOptions): VadOptions {
  const out: VadOptions = {};
  for (const [k, v] of Object.entries(o) as [keyof VadOptions, number | undefined][]) {
    if (v !== undefined) out[k] = v;
  }
  return out;
}
