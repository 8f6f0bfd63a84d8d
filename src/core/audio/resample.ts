/**
 * Streaming rational resampler: polyphase windowed-sinc (Kaiser window).
 *
 * For from→to we upsample by L and decimate by M (L/M = to/from in lowest
 * terms) without ever materialising the upsampled signal: output n sits at
 * input position n·M/L, i.e. between input samples i = ⌊n·M/L⌋ and i+1 at
 * fractional phase p = (n·M mod L)/L, and is the dot product of the input
 * around i with the precomputed filter for phase p.
 *
 * The low-pass cutoff is CUTOFF × the lower Nyquist, so downsampling removes
 * what would alias (a 6 kHz tone does not fold into 16k→8k output) and
 * upsampling removes imaging. Downsampling to 16 kHz uses a shorter design
 * with a lower cutoff instead (SPEECH_*: −3 dB at 5.9 kHz, ≥ 60 dB from
 * 8.5 kHz). The filter is centred (zero-phase), so output is time-aligned
 * with input; the price is HALF_ZEROS/cutoff input samples of look-ahead
 * latency (0.5 ms at 24k→16k), released by flush().
 *
 * Speed: the 24k→16k path (every phase symmetric, L = 2) is fully unrolled;
 * other L ≤ 2 ratios fold the taps in a loop; the rest use the generic loop.
 *
 * Output is identical however the input is chunked: it depends only on the
 * absolute sample positions, never on chunk boundaries.
 */

import { designFilter, gcd, type Filter } from './resample-filter';

export class Resampler {
  readonly fromRate: number;
  readonly toRate: number;
  private readonly L: number;
  private readonly M: number;
  private readonly filter: Filter | null;
  /**
   * Input history as it came (PCM16); buf[0] is absolute input sample `bufStart`.
   * Int16 rather than floats: append is a memcpy, and the symmetric paths add
   * mirrored samples as integers, converting once per pair.
   */
  private buf: Int16Array;
  private bufLen = 0;
  private bufStart = 0;
  /** Next output: input index i and phase numerator p (0 ≤ p < L). */
  private nextI = 0;
  private nextP = 0;
  private totalIn = 0;
  private totalOut = 0;

  constructor(fromRate: number, toRate: number) {
    if (!(fromRate > 0 && toRate > 0) || !Number.isInteger(fromRate) || !Number.isInteger(toRate)) {
      throw new RangeError(`sample rates must be positive integers, got ${fromRate} → ${toRate}`);
    }
    this.fromRate = fromRate;
    this.toRate = toRate;
    const g = gcd(fromRate, toRate);
    this.L = toRate / g;
    this.M = fromRate / g;
    this.filter = fromRate === toRate ? null : designFilter(this.L, this.M, toRate === 16000 && fromRate > toRate);
    this.buf = new Int16Array(4096);
    this.resetState();
  }

  /** Output samples that `n` more input samples can produce at most (for sizing `out`). */
  maxOutput(n: number): number {
    return Math.ceil(((this.totalIn + n) * this.L) / this.M) - this.totalOut + 1;
  }

  /** Resample a chunk; returns a new array (see processInto for the allocation-free form). */
  process(input: Int16Array): Int16Array {
    if (!this.filter) return input.slice();
    const out = new Int16Array(this.maxOutput(input.length));
    const n = this.processInto(input, out);
    return n === out.length ? out : out.slice(0, n);
  }

  /**
   * Allocation-free once warmed up: writes into `out` (length ≥ maxOutput(input.length))
   * and returns the number of samples written.
   */
  processInto(input: Int16Array, out: Int16Array): number {
    if (!this.filter) {
      out.set(input);
      return input.length;
    }
    this.append(input);
    return this.emit(out, this.bufStart + this.bufLen);
  }

  /** End of stream: release the look-ahead tail (input is zero-padded) and reset. */
  flush(): Int16Array {
    if (!this.filter) {
      this.resetState();
      return new Int16Array(0);
    }
    const total = Math.ceil((this.totalIn * this.L) / this.M);
    const out = new Int16Array(Math.max(0, total - this.totalOut));
    const pad = new Int16Array(this.filter.half + 1);
    this.append(pad);
    const n = this.emit(out, this.bufStart + this.bufLen, total);
    this.resetState();
    return n === out.length ? out : out.slice(0, n);
  }

  /** Forget all history (for a new stream). */
  reset(): void {
    this.resetState();
  }

  private resetState(): void {
    const half = this.filter?.half ?? 0;
    // Pretend half-1 zeros precede the stream so the first outputs have full context.
    this.bufStart = -(half - 1);
    this.bufLen = Math.max(0, half - 1);
    this.buf.fill(0, 0, this.bufLen);
    this.nextI = 0;
    this.nextP = 0;
    this.totalIn = 0;
    this.totalOut = 0;
  }

  private append(input: Int16Array): void {
    const need = this.bufLen + input.length;
    if (need > this.buf.length) {
      let cap = this.buf.length;
      while (cap < need) cap *= 2;
      const grown = new Int16Array(cap);
      grown.set(this.buf.subarray(0, this.bufLen));
      this.buf = grown;
    }
    this.buf.set(input, this.bufLen);
    this.bufLen = need;
    if (input.length > 0) this.totalIn += input.length;
  }

  /** Emit outputs whose window lies within the buffer; stop at `limit` outputs if given. */
  private emit(out: Int16Array, availEnd: number, limit = Infinity): number {
    const f = this.filter!;
    const n =
      this.L === 2 && this.M === 3 && f.half === 12
        ? this.emit3to2(out, availEnd, limit)
        : f.fold
          ? this.emitSymmetric(out, availEnd, limit)
          : this.emitGeneric(out, availEnd, limit);
    // Drop history the next output no longer needs (copyWithin: no allocation).
    const keepFrom = this.nextI - this.filter!.half + 1 - this.bufStart;
    if (keepFrom > 0) {
      const drop = Math.min(keepFrom, this.bufLen);
      this.buf.copyWithin(0, drop, this.bufLen);
      this.bufLen -= drop;
      this.bufStart += drop;
    }
    return n;
  }

  /**
   * L ≤ 2 (24k→16k, 16k→8k, 8k→16k, 48k→16k…): every phase is symmetric, so
   * each output is Σ c[j]·(x[a−j] + x[b+j]) over half the taps, the mirrored
   * pair added as integers. Phase 0 sits on an input sample (a = b = i, its
   * centre tap counted once), phase ½ between two (a = i, b = i + 1).
   */
  private emitSymmetric(out: Int16Array, availEnd: number, limit: number): number {
    const L = this.L;
    const M = this.M;
    const off = -this.bufStart;
    let i = this.nextI;
    let p = this.nextP;
    let n = 0;
    const room = Math.min(limit - this.totalOut, out.length);
    // Output at (i, p) needs input up to i + half (inclusive).
    const end = availEnd - this.filter!.half;
    while (i < end && n < room) {
      this.symmetricOne(out, n++, i + off, p);
      p += M;
      while (p >= L) {
        p -= L;
        i++;
      }
    }
    this.nextI = i;
    this.nextP = p;
    this.totalOut += n;
    return n;
  }

  /** One output of emitSymmetric: phase p (0 or 1 of L = 2) at buffer index b, into out[n]. */
  private symmetricOne(out: Int16Array, n: number, b: number, p: number): void {
    const half = this.filter!.half;
    const fold = this.filter!.fold!;
    const buf = this.buf;
    let a0 = 0;
    let a1 = 0;
    let j: number;
    if (p === 0) {
      const c = fold[0]!;
      a0 = buf[b]! * c[0]!;
      for (j = 1; j + 1 < half; j += 2) {
        a0 += (buf[b - j]! + buf[b + j]!) * c[j]!;
        a1 += (buf[b - j - 1]! + buf[b + j + 1]!) * c[j + 1]!;
      }
      if (j < half) a0 += (buf[b - j]! + buf[b + j]!) * c[j]!;
    } else {
      const c = fold[1]!;
      const b1 = b + 1;
      for (j = 0; j + 1 < half; j += 2) {
        a0 += (buf[b - j]! + buf[b1 + j]!) * c[j]!;
        a1 += (buf[b - j - 1]! + buf[b1 + j + 1]!) * c[j + 1]!;
      }
      if (j < half) a0 += (buf[b - j]! + buf[b1 + j]!) * c[j]!;
    }
    const r = Math.round(a0 + a1);
    out[n] = r > 32767 ? 32767 : r < -32768 ? -32768 : r;
  }

  /**
   * 24 kHz → 16 kHz (L = 2, M = 3), the gateway's input hot path: the same sums
   * as emitSymmetric for the SPEECH_* design (12 taps a side), but two outputs per
   * iteration (phase 0 at input i, phase ½ at i + 1.5; then i += 3), fully
   * unrolled with the coefficients in locals: no phase bookkeeping, inner-loop
   * counters or coefficient bounds checks (the kernel runs ≈ 1.7× the looped form in V8).
   * An output without its partner (phase ½ left from the previous call, or a
   * phase 0 whose partner's input has not arrived) goes through symmetricOne.
   */
  private emit3to2(out: Int16Array, availEnd: number, limit: number): number {
    const c0 = this.filter!.fold![0]!;
    const c1 = this.filter!.fold![1]!;
    const p0 = c0[0]!, p1 = c0[1]!, p2 = c0[2]!, p3 = c0[3]!, p4 = c0[4]!, p5 = c0[5]!, p6 = c0[6]!, p7 = c0[7]!, p8 = c0[8]!, p9 = c0[9]!, p10 = c0[10]!, p11 = c0[11]!;
    const q0 = c1[0]!, q1 = c1[1]!, q2 = c1[2]!, q3 = c1[3]!, q4 = c1[4]!, q5 = c1[5]!, q6 = c1[6]!, q7 = c1[7]!, q8 = c1[8]!, q9 = c1[9]!, q10 = c1[10]!, q11 = c1[11]!;
    const buf = this.buf;
    const off = -this.bufStart;
    let i = this.nextI;
    let p = this.nextP;
    let n = 0;
    const room = Math.min(limit - this.totalOut, out.length);
    // Output at (i, p) needs input up to i + 12 (inclusive), as in the other paths.
    const end = availEnd - 12;
    // A phase-½ output left over from the last call first, so the pairs start on phase 0.
    if (p !== 0 && i < end && n < room) {
      this.symmetricOne(out, n++, i + off, 1);
      p = 0;
      i += 2;
    }
    // Pair k is phase 0 at i + 3k and phase ½ at i + 3k + 1 (needs i + 3k + 1 < end).
    const pairs = Math.max(0, Math.min(Math.floor((end - i + 1) / 3), (room - n) >> 1));
    for (let b = i + off, stop = b + 3 * pairs; b < stop; b += 3) {
      let a0 = buf[b]! * p0;
      let a1 = 0;
      a1 += (buf[b - 1]! + buf[b + 1]!) * p1;
      a0 += (buf[b - 2]! + buf[b + 2]!) * p2;
      a1 += (buf[b - 3]! + buf[b + 3]!) * p3;
      a0 += (buf[b - 4]! + buf[b + 4]!) * p4;
      a1 += (buf[b - 5]! + buf[b + 5]!) * p5;
      a0 += (buf[b - 6]! + buf[b + 6]!) * p6;
      a1 += (buf[b - 7]! + buf[b + 7]!) * p7;
      a0 += (buf[b - 8]! + buf[b + 8]!) * p8;
      a1 += (buf[b - 9]! + buf[b + 9]!) * p9;
      a0 += (buf[b - 10]! + buf[b + 10]!) * p10;
      a1 += (buf[b - 11]! + buf[b + 11]!) * p11;
      let r = Math.round(a0 + a1);
      out[n++] = r > 32767 ? 32767 : r < -32768 ? -32768 : r;
      // Phase ½ at i + 1.5: pairs x[i + 1 − j] + x[i + 2 + j].
      a0 = 0;
      a1 = 0;
      a0 += (buf[b + 1]! + buf[b + 2]!) * q0;
      a1 += (buf[b]! + buf[b + 3]!) * q1;
      a0 += (buf[b - 1]! + buf[b + 4]!) * q2;
      a1 += (buf[b - 2]! + buf[b + 5]!) * q3;
      a0 += (buf[b - 3]! + buf[b + 6]!) * q4;
      a1 += (buf[b - 4]! + buf[b + 7]!) * q5;
      a0 += (buf[b - 5]! + buf[b + 8]!) * q6;
      a1 += (buf[b - 6]! + buf[b + 9]!) * q7;
      a0 += (buf[b - 7]! + buf[b + 10]!) * q8;
      a1 += (buf[b - 8]! + buf[b + 11]!) * q9;
      a0 += (buf[b - 9]! + buf[b + 12]!) * q10;
      a1 += (buf[b - 10]! + buf[b + 13]!) * q11;
      r = Math.round(a0 + a1);
      out[n++] = r > 32767 ? 32767 : r < -32768 ? -32768 : r;
    }
    i += 3 * pairs;
    // At most one phase-0 output whose phase-½ partner does not fit yet.
    if (i < end && n < room) {
      this.symmetricOne(out, n++, i + off, 0);
      p = 1;
      i += 1;
    }
    this.nextI = i;
    this.nextP = p;
    this.totalOut += n;
    return n;
  }

  private emitGeneric(out: Int16Array, availEnd: number, limit: number): number {
    const { taps, half, coeffs, mirror } = this.filter!;
    const L = this.L;
    const M = this.M;
    const buf = this.buf;
    let i = this.nextI;
    let p = this.nextP;
    let n = 0;
    let produced = this.totalOut;
    const offset = 1 - half - this.bufStart;
    // Output at (i, p) needs input up to i + half (inclusive).
    while (i + half < availEnd && produced < limit) {
      const base = i + offset;
      const c0 = p * taps;
      const S = mirror[p]!;
      if (S >= 0) {
        const hi = base + S;
        const pairs = (S + 1) >> 1;
        let a0 = (S & 1) === 0 ? buf[base + pairs]! * coeffs[c0 + pairs]! : 0;
        let a1 = 0;
        let k = 0;
        for (; k + 1 < pairs; k += 2) {
          a0 += (buf[base + k]! + buf[hi - k]!) * coeffs[c0 + k]!;
          a1 += (buf[base + k + 1]! + buf[hi - k - 1]!) * coeffs[c0 + k + 1]!;
        }
        if (k < pairs) a0 += (buf[base + k]! + buf[hi - k]!) * coeffs[c0 + k]!;
        const r = Math.round(a0 + a1);
        out[n++] = r > 32767 ? 32767 : r < -32768 ? -32768 : r;
      } else {
        // Four accumulators: breaks the add dependency chain (≈2× faster in V8).
        let a0 = 0;
        let a1 = 0;
        let a2 = 0;
        let a3 = 0;
        for (let k = 0; k < taps; k += 4) {
          a0 += buf[base + k]! * coeffs[c0 + k]!;
          a1 += buf[base + k + 1]! * coeffs[c0 + k + 1]!;
          a2 += buf[base + k + 2]! * coeffs[c0 + k + 2]!;
          a3 += buf[base + k + 3]! * coeffs[c0 + k + 3]!;
        }
        const r = Math.round(a0 + a1 + a2 + a3);
        out[n++] = r > 32767 ? 32767 : r < -32768 ? -32768 : r;
      }
      produced++;
      p += M;
      while (p >= L) {
        p -= L;
        i++;
      }
    }
    this.nextI = i;
    this.nextP = p;
    this.totalOut = produced;
    return n;
  }
}

/** One-shot resampling of a whole signal (same filter as the streaming form). */
export function resample(input: Int16Array, from: number, to: number): Int16Array {
  if (from === to) return input.slice();
  const r = new Resampler(from, to);
  const head = r.process(input);
  const tail = r.flush();
  const out = new Int16Array(head.length + tail.length);
  out.set(head);
  out.set(tail, head.length);
  return out;
}
