/**
 * Real speech for the local provider: eSpeak NG compiled to WebAssembly (npm
 * @echogarden/espeak-ng-emscripten; its voice data ships in the package, so no system package and
 * no network). A robotic but intelligible English voice, resampled to the 24 kHz PCM16 of the
 * speech API. Synthesis runs on a worker thread (espeak-thread.mjs), one request at a time.
 */
import { Worker } from 'node:worker_threads';
import { PCM_RATE, resample } from './pcm';

/** OpenAI's voices that sound female get eSpeak's female variant, so a voice change is audible. */
const FEMALE_VOICES = new Set(['coral', 'nova', 'sage', 'shimmer', 'marin', 'ballad']);
const DEFAULT_WPM = 175;
/** Peak after normalisation (eSpeak's own output peaks low, around -10 dBFS). */
const TARGET_PEAK = 0.7 * 32767;
const MAX_GAIN = 4;

export interface Speaker {
  /** Mono PCM16 at 24 kHz. */
  speak(text: string, voice: string, speed?: number): Promise<Int16Array>;
  close(): Promise<void>;
}

type Reply = { id: number; samples: Int16Array; sampleRate: number } | { id: number; error: string };

/** Starts the synthesis thread and waits until eSpeak NG is loaded (a second or so). */
export async function startSpeaker(): Promise<Speaker> {
  const worker = new Worker(new URL('./espeak-thread.mjs', import.meta.url));
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  const pending = new Map<number, { resolve: (s: Int16Array) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let failure: Error | undefined;
  worker.on('message', (reply: Reply) => {
    const waiter = pending.get(reply.id);
    if (!waiter) return;
    pending.delete(reply.id);
    if ('error' in reply) waiter.reject(new Error(`eSpeak NG: ${reply.error}`));
    else waiter.resolve(normalise(resample(reply.samples, reply.sampleRate, PCM_RATE)));
  });
  const failAll = (err: Error): void => {
    failure = err;
    for (const waiter of pending.values()) waiter.reject(err);
    pending.clear();
  };
  worker.on('error', failAll);
  worker.on('exit', () => failAll(new Error('eSpeak NG thread exited')));
  worker.unref(); // a provider someone forgot to close must not keep the process alive
  return {
    speak(text, voice, speed = 1) {
      if (failure) return Promise.reject(failure);
      const id = nextId++;
      const wpm = Math.round(Math.min(450, Math.max(80, DEFAULT_WPM * speed)));
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, text, voice: FEMALE_VOICES.has(voice) ? 'en-us+f3' : 'en-us', wpm });
      });
    },
    async close() {
      await worker.terminate();
    },
  };
}

function normalise(samples: Int16Array): Int16Array {
  let peak = 0;
  for (const s of samples) peak = Math.max(peak, Math.abs(s));
  if (peak === 0) return samples;
  const gain = Math.min(MAX_GAIN, TARGET_PEAK / peak);
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round((samples[i] ?? 0) * gain);
  return samples;
}
