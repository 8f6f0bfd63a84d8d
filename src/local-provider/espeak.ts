/**
 * Real speech for the local provider: eSpeak NG compiled to WebAssembly (npm
 * @echogarden/espeak-ng-emscripten; its voice data ships in the package, so no system package and
 * no network). A robotic but intelligible English voice, resampled to the 24 kHz PCM16 of the
 * speech API. Synthesis is synchronous inside the WASM module: one sentence takes tens of
 * milliseconds, fine for a local demo.
 */
import createModule, { type ESpeakNGModule, type ESpeakNGWorker } from '@echogarden/espeak-ng-emscripten';
import { PCM_RATE, resample } from './pcm';

/** OpenAI's voices that sound female get eSpeak's female variant, so a voice change is audible. */
const FEMALE_VOICES = new Set(['coral', 'nova', 'sage', 'shimmer', 'marin', 'ballad']);
const DEFAULT_WPM = 175;
/** Peak after normalisation (eSpeak's own output peaks low, around -10 dBFS). */
const TARGET_PEAK = 0.7 * 32767;
const MAX_GAIN = 4;

export interface Speaker {
  /** Mono PCM16 at 24 kHz. */
  speak(text: string, voice: string, speed?: number): Int16Array;
}

let loading: Promise<Speaker> | undefined;

/** Loads the WASM module once (a few hundred ms); later calls share it. */
export function loadSpeaker(): Promise<Speaker> {
  loading ??= createModule({ print: () => {}, printErr: () => {} }).then((m) => new EspeakSpeaker(m, new m.eSpeakNGWorker()));
  return loading;
}

class EspeakSpeaker implements Speaker {
  private readonly rate: number;
  constructor(private readonly m: ESpeakNGModule, private readonly worker: ESpeakNGWorker) {
    this.rate = worker.get_samplerate();
  }

  speak(text: string, voice: string, speed = 1): Int16Array {
    this.worker.set_voice(FEMALE_VOICES.has(voice) ? 'en-us+f3' : 'en-us');
    this.worker.set_rate(Math.round(Math.min(450, Math.max(80, DEFAULT_WPM * speed))));
    const chunks: Int16Array[] = [];
    const callback = this.m.addFunction((ptr, count) => {
      // HEAP16 is read at each call: memory growth replaces the view.
      if (count > 0) chunks.push(this.m.HEAP16.slice(ptr >> 1, (ptr >> 1) + count));
      return 0;
    }, 'iiii');
    try {
      this.worker.synth_(text, callback);
    } finally {
      this.m.removeFunction(callback);
    }
    return normalise(resample(concat(chunks), this.rate, PCM_RATE));
  }
}

function concat(parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function normalise(samples: Int16Array): Int16Array {
  let peak = 0;
  for (const s of samples) peak = Math.max(peak, Math.abs(s));
  if (peak === 0) return samples;
  const gain = Math.min(MAX_GAIN, TARGET_PEAK / peak);
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round((samples[i] ?? 0) * gain);
  return samples;
}
