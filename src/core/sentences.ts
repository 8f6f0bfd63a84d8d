/**
 * Splits streamed LLM text into sentences for TTS, so the first sentence is spoken while the
 * model is still writing the rest. A boundary is terminal punctuation followed by whitespace,
 * except after common abbreviations and inside numbers ("3.5", "e.g."). Very long runs without
 * punctuation are cut at a comma or space so TTS never waits for a whole paragraph.
 *
 * Text that ends in a clear sentence end ("help.", "today?") is a sentence at once, without
 * waiting for the whitespace that starts the next token: with a real model that wait is one
 * inter-token gap (20–50 ms) on every turn's first audio. What could still go on — a number
 * ("3." then "5"), an abbreviation, a word with other dots or an @ ("example." then "com") —
 * waits for the next piece as before.
 */
const ABBREVIATIONS = new Set(['mr', 'mrs', 'ms', 'dr', 'prof', 'sr', 'jr', 'st', 'vs', 'etc', 'e.g', 'i.e', 'inc', 'ltd', 'no', 'approx', 'dept']);
const MAX_CHARS = 240;
const SAYABLE = /[\p{L}\p{N}]/u;

export class SentenceSplitter {
  private buf = '';

  /** Adds streamed text; returns the sentences completed by it. */
  push(text: string): string[] {
    this.buf += text;
    const out: string[] = [];
    let start = 0;
    for (let i = 0; i < this.buf.length; i++) {
      const ch = this.buf[i]!;
      const next = this.buf[i + 1];
      if ((ch === '.' || ch === '!' || ch === '?' || ch === '…' || ch === '\n') && next !== undefined && /\s/.test(next)) {
        if (ch === '.' && this.isAbbreviation(start, i)) continue;
        const s = this.buf.slice(start, i + 1).trim();
        // Punctuation alone ("!" after "Really?" was sent) has nothing to say: it leads the next one.
        if (!SAYABLE.test(s)) continue;
        out.push(s);
        start = i + 1;
      } else if (i - start >= MAX_CHARS) {
        const cut = Math.max(this.buf.lastIndexOf(',', i), this.buf.lastIndexOf(' ', i));
        const end = cut > start ? cut + 1 : i + 1;
        const s = this.buf.slice(start, end).trim();
        if (s) out.push(s);
        start = end;
        i = end - 1;
      }
    }
    if (this.endsSentence(start)) {
      out.push(this.buf.slice(start).trim());
      start = this.buf.length;
    }
    this.buf = this.buf.slice(start);
    return out;
  }

  /** The rest, at the end of the stream. */
  flush(): string[] {
    const s = this.buf.trim();
    this.buf = '';
    return SAYABLE.test(s) ? [s] : [];
  }

  /** Whether the text from `start` to the end of the buffer is a finished sentence already. */
  private endsSentence(start: number): boolean {
    const end = this.buf.length - 1;
    if (end < start) return false;
    const ch = this.buf[end]!;
    const word = /\S*$/.exec(this.buf.slice(start))![0];
    if (!SAYABLE.test(word)) return false;
    if (ch === '!' || ch === '?' || ch === '…') return true;
    if (ch !== '.') return false;
    return /\p{L}$/u.test(word.slice(0, -1)) && !/[.@/]/.test(word.slice(0, -1)) && !this.isAbbreviation(start, end);
  }

  private isAbbreviation(start: number, dot: number): boolean {
    const word = /([A-Za-z.]+)$/.exec(this.buf.slice(start, dot))?.[1]?.toLowerCase();
    if (!word) return false;
    return ABBREVIATIONS.has(word) || /^[a-z]$/.test(word); // "J. Smith", "U.S."
  }
}
