/** A simple energy-based server VAD over the session's input timeline (20 ms frames). */
import { concatSamples, rms } from './synth';
import type { TurnDetection } from './realtime-session';

export type VadEvent =
  | { type: 'speech_started'; audioStartMs: number }
  | { type: 'speech_stopped'; audioEndMs: number };

const FRAME_MS = 20;
/** Consecutive loud frames needed before speech counts as started (filters clicks). */
const START_FRAMES = 2;

/** Maps OpenAI's 0..1 `threshold` to an RMS level: 0.5 → 0.03 (about -30 dBFS). */
export function energyThreshold(threshold: number): number {
  return 0.005 + 0.05 * threshold;
}

export class EnergyVad {
  private pending: Int16Array = new Int16Array(0);
  private processedMs = 0;
  private speaking = false;
  private loudFrames = 0;
  private firstLoudMs = 0;
  private silenceMs = 0;

  /** Feeds samples (at `sampleRate`) and returns the turn events they caused, in order. */
  push(samples: Int16Array, sampleRate: number, config: TurnDetection): VadEvent[] {
    const frame = Math.round((sampleRate * FRAME_MS) / 1000);
    const events: VadEvent[] = [];
    this.pending = concatSamples(this.pending, samples);
    let offset = 0;
    while (this.pending.length - offset >= frame) {
      const level = rms(this.pending, offset, offset + frame);
      offset += frame;
      const event = this.onFrame(level >= energyThreshold(config.threshold), config);
      if (event) events.push(event);
    }
    this.pending = this.pending.slice(offset);
    return events;
  }

  private onFrame(loud: boolean, config: TurnDetection): VadEvent | undefined {
    const frameStart = this.processedMs;
    this.processedMs += FRAME_MS;
    if (!this.speaking) {
      if (!loud) {
        this.loudFrames = 0;
        return undefined;
      }
      if (this.loudFrames === 0) this.firstLoudMs = frameStart;
      this.loudFrames += 1;
      if (this.loudFrames < START_FRAMES) return undefined;
      this.speaking = true;
      this.silenceMs = 0;
      return { type: 'speech_started', audioStartMs: Math.max(0, this.firstLoudMs - config.prefix_padding_ms) };
    }
    this.silenceMs = loud ? 0 : this.silenceMs + FRAME_MS;
    if (this.silenceMs < config.silence_duration_ms) return undefined;
    this.speaking = false;
    this.loudFrames = 0;
    return { type: 'speech_stopped', audioEndMs: this.processedMs };
  }

  /** Forgets the current utterance (input_audio_buffer.clear / manual commit); the timeline keeps running. */
  reset(): void {
    this.speaking = false;
    this.loudFrames = 0;
    this.silenceMs = 0;
  }
}
