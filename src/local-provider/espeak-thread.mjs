// eSpeak NG's synthesis runs synchronously inside its WASM module (hundreds of milliseconds per
// sentence on a busy machine), so it runs here, on a worker thread, and never blocks the event loop
// that carries calls' audio and keeps BullMQ's job locks alive. Plain JavaScript on purpose: a
// worker thread gets no TypeScript loader under every runner (tsx, vitest, node).
// Messages in: {id, text, voice, wpm}; out: {id, samples: Int16Array, sampleRate} or {id, error}.
import { parentPort } from 'node:worker_threads';
import createModule from '@echogarden/espeak-ng-emscripten';

const m = await createModule({ print: () => {}, printErr: () => {} });
const worker = new m.eSpeakNGWorker();
const sampleRate = worker.get_samplerate();

parentPort.on('message', ({ id, text, voice, wpm }) => {
  try {
    worker.set_voice(voice);
    worker.set_rate(wpm);
    const chunks = [];
    // HEAP16 is read at each call: memory growth replaces the view.
    const callback = m.addFunction((ptr, count) => {
      if (count > 0) chunks.push(m.HEAP16.slice(ptr >> 1, (ptr >> 1) + count));
      return 0;
    }, 'iiii');
    try {
      worker.synth_(text, callback);
    } finally {
      m.removeFunction(callback);
    }
    const samples = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
    let offset = 0;
    for (const c of chunks) {
      samples.set(c, offset);
      offset += c.length;
    }
    parentPort.postMessage({ id, samples, sampleRate }, [samples.buffer]);
  } catch (err) {
    parentPort.postMessage({ id, error: String(err) });
  }
});
parentPort.postMessage({ ready: true, sampleRate });
