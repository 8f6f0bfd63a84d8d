/**
 * The resampler's filters: a polyphase windowed-sinc (Kaiser) low-pass per L/M ratio, designed
 * once and cached. The general design keeps ~80 dB of stopband; the speech design (downsampling to
 * 16 kHz for STT/VAD) is shorter with a lower cutoff. See resample.ts for how they are applied.
 */

/** Fraction of the lower Nyquist frequency that passes; the rest is transition band. */
const CUTOFF = 0.94;
/** Sinc zero crossings on each side: more = sharper transition, more work. */
const HALF_ZEROS = 10;
/** Kaiser β: ~80 dB stopband for the window itself. */
const KAISER_BETA = 8;

/**
 * Downsampling to 16 kHz (client audio on its way to STT and the VAD) trades
 * the top of the band for a short filter: speech above ~6 kHz carries little
 * for either, and the gateway's 24k→16k hot path is the costliest work per
 * call. Passband flat to ±0.01 dB up to 3.4 kHz, −1 dB at 5.4 kHz, −3 dB at
 * 5.9 kHz; ≥ 60 dB stopband from 8.5 kHz (new Nyquist + 500 Hz) up, where the
 * general design has only −23 dB at 8.5 kHz and reaches 60 dB at ~9.5 kHz.
 * At 24k→16k that is 24 taps per output instead of 32 (12 folded pairs).
 */
const SPEECH_CUTOFF = 0.8;
const SPEECH_HALF_ZEROS = 6.3;
const SPEECH_KAISER_BETA = 6.5;

export function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 50; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
    if (term < 1e-12 * sum) break;
  }
  return sum;
}

export interface Filter {
  taps: number; // per phase (multiple of 4)
  half: number; // taps / 2: input samples needed ahead of i
  coeffs: Float32Array; // L × taps, phase-major
  /** Per phase: S when tap k equals tap S−k for all k (fold the dot product in half), else −1. */
  mirror: Int32Array;
  /**
   * L ≤ 2 only (every phase symmetric): per phase, `half` folded taps. Phase 0:
   * [centre, then the tap j samples either side]; phase ½: the tap for x[i−j] and x[i+1+j].
   */
  fold: Float64Array[] | null;
}

const filterCache = new Map<string, Filter>();

export function designFilter(L: number, M: number, speech: boolean): Filter {
  const key = `${L}/${M}${speech ? '/speech' : ''}`;
  const cached = filterCache.get(key);
  if (cached) return cached;
  const beta = speech ? SPEECH_KAISER_BETA : KAISER_BETA;
  // Cutoff as a fraction of the input sample rate (cycles/sample ×2).
  const fc = (speech ? SPEECH_CUTOFF : CUTOFF) * Math.min(1, L / M);
  // taps is a multiple of 4 for the unrolled inner loop.
  const half = 2 * Math.ceil((speech ? SPEECH_HALF_ZEROS : HALF_ZEROS) / fc / 2);
  const taps = 2 * half;
  const coeffs = new Float32Array(L * taps);
  const i0b = besselI0(beta);
  for (let p = 0; p < L; p++) {
    let sum = 0;
    for (let k = 0; k < taps; k++) {
      // Tap k multiplies x[i - half + 1 + k]; d is its distance from the output point.
      const d = k - half + 1 - p / L;
      const x = fc * d;
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
      const r = d / half;
      const w = Math.abs(r) >= 1 ? 0 : besselI0(beta * Math.sqrt(1 - r * r)) / i0b;
      const h = fc * sinc * w;
      coeffs[p * taps + k] = h;
      sum += h;
    }
    // Unity DC gain in every phase, so a constant stays constant (no ripple at rate L).
    for (let k = 0; k < taps; k++) coeffs[p * taps + k]! /= sum;
  }
  // Phase 0 (and phase L/2) are symmetric: summing mirrored inputs first halves the multiplies.
  const mirror = new Int32Array(L).fill(-1);
  for (let p = 0; p < L; p++) {
    for (const S of [taps - 1, taps - 2]) {
      let sym = true;
      for (let k = 0; k <= S && sym; k++) sym = Math.abs(coeffs[p * taps + k]! - coeffs[p * taps + S - k]!) < 1e-7;
      if (sym && (S === taps - 1 || Math.abs(coeffs[p * taps + taps - 1]!) < 1e-12)) {
        mirror[p] = S;
        break;
      }
    }
  }
  let fold: Float64Array[] | null = null;
  if (L <= 2) {
    // Phase 0: tap k multiplies x[i − half + 1 + k], so the centre is k = half − 1 (tap 2·half − 1 is a window zero).
    const f0 = new Float64Array(half);
    for (let j = 0; j < half; j++) f0[j] = coeffs[half - 1 + j]!;
    fold = [f0];
    if (L === 2) {
      // Phase ½: x[i − j] is tap half − 1 − j.
      const f1 = new Float64Array(half);
      for (let j = 0; j < half; j++) f1[j] = coeffs[taps + half - 1 - j]!;
      fold.push(f1);
    }
  }
  const f = { taps, half, coeffs, mirror, fold };
  filterCache.set(key, f);
  return f;
}
