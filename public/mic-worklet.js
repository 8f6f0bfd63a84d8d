// AudioWorklet: the microphone (at the context's rate, often 48 kHz) → mono PCM16 at 24 kHz,
// posted in 20 ms chunks (480 samples) as transferable ArrayBuffers, plus the chunk's peak and RMS
// for the level meter (RMS is what the server's VAD threshold compares against, roughly).
class Pcm16Capture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.targetRate = options.processorOptions?.targetRate ?? 24000;
    this.step = sampleRate / this.targetRate;
    this.pos = 0; // read position in the current block; -1..0 interpolates from the previous block
    this.prev = 0;
    this.smooth = 0; // one-pole low-pass state, so decimation does not fold hiss into the speech band
    this.alpha = Math.min(1, (2 * Math.PI * 0.45 * this.targetRate) / sampleRate);
    this.chunkSize = Math.round(this.targetRate / 50);
    this.chunk = new Int16Array(this.chunkSize);
    this.filled = 0;
    this.peak = 0;
    this.sumSq = 0;
  }

  process(inputs) {
    const input = inputs[0];
    const ch = input && input[0];
    if (!ch || ch.length === 0) return true;
    const len = ch.length;
    const x = new Float32Array(len);
    let s = this.smooth;
    for (let i = 0; i < len; i++) {
      s += this.alpha * (ch[i] - s);
      x[i] = s;
    }
    this.smooth = s;
    let pos = this.pos;
    while (pos < len - 1) {
      const i = Math.floor(pos);
      const f = pos - i;
      const a = i < 0 ? this.prev : x[i];
      const b = x[i + 1];
      this.push(a + (b - a) * f);
      pos += this.step;
    }
    this.pos = pos - len;
    this.prev = x[len - 1];
    return true;
  }

  push(v) {
    const c = Math.max(-1, Math.min(1, v));
    this.peak = Math.max(this.peak, Math.abs(c));
    this.sumSq += c * c;
    this.chunk[this.filled++] = c < 0 ? c * 0x8000 : c * 0x7fff;
    if (this.filled === this.chunkSize) {
      const out = this.chunk.buffer;
      this.port.postMessage({ pcm: out, peak: this.peak, rms: Math.sqrt(this.sumSq / this.chunkSize) }, [out]); // transferring detaches `out`
      this.chunk = new Int16Array(this.chunkSize);
      this.filled = 0;
      this.peak = 0;
      this.sumSq = 0;
    }
  }
}

registerProcessor('pcm16-capture', Pcm16Capture);
