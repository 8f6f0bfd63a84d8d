/** Deterministic synthetic signals for VAD tests. */

/** Seeded white noise at an RMS level in dBFS. */
export function noise(ms: number, dbfs: number, seed = 1, rate = 16000): Int16Array {
  const n = Math.round((ms * rate) / 1000);
  const out = new Int16Array(n);
  const amp = 32768 * 10 ** (dbfs / 20) * Math.sqrt(3); // uniform noise: rms = amp/√3
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = Math.round(amp * ((s / 2 ** 32) * 2 - 1));
  }
  return out;
}

/** A "voice": a 300 Hz tone with harmonics, syllable-like 4 Hz amplitude wobble, at an RMS level. */
export function voice(ms: number, dbfs: number, rate = 16000): Int16Array {
  const n = Math.round((ms * rate) / 1000);
  const out = new Int16Array(n);
  const amp = 32768 * 10 ** (dbfs / 20) * Math.SQRT2;
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    const env = 0.6 + 0.4 * Math.sin(2 * Math.PI * 4 * t);
    const v = Math.sin(2 * Math.PI * 300 * t) * 0.7 + Math.sin(2 * Math.PI * 900 * t) * 0.5 + Math.sin(2 * Math.PI * 1500 * t) * 0.3;
    out[i] = Math.round(amp * env * v * 0.9);
  }
  return out;
}

export function silence(ms: number, rate = 16000): Int16Array {
  return new Int16Array(Math.round((ms * rate) / 1000));
}

/** Sum signals sample by sample (lengths may differ; clipped to int16). */
export function mix(...parts: Int16Array[]): Int16Array {
  const out = new Int16Array(Math.max(...parts.map((p) => p.length)));
  for (const p of parts) for (let i = 0; i < p.length; i++) out[i] = Math.max(-32768, Math.min(32767, out[i]! + p[i]!));
  return out;
}

export function cat(...parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
