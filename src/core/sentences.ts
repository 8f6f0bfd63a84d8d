/**
 * Splits streamed LLM text into sentences for TTS, so the first sentence is spoken while the
 * model is still writing the rest. A boundary is terminal punctuation followed by whitespace,
 * except after common abbreviations and inside numbers ("3.5", "e.g."). Very long runs without
 * punctuation are cut at a comma or space so TTS never waits for a whole paragraph.
 *
 * Two rules only serve the first audio of an answer, where every token the caller waits for counts:
 * - Text that ends in a clear sentence end ("help.", "today?") is a sentence at once, without
 *   waiting for the whitespace that starts the next token (one inter-token gap, 20–50 ms with a
 *   real model). What could still go on — a number ("3." then "5"), an abbreviation, a word with
 *   other dots or an @ ("example." then "com") — waits for the next piece as before.
 * - The answer's first piece may end at a clause (",", ";", ":" or a dash) once it is
 *   FIRST_CLAUSE_CHARS long: a long first sentence then starts playing after its first clause
 *   instead of after its last token. Later sentences are spoken whole (they are synthesised while
 *   the earlier ones play, so splitting them would only cost prosody).
 */
const ABBREVIATIONS = new Set(['mr', 'mrs', 'ms', 'dr', 'prof', 'sr', 'jr', 'st', 'vs', 'etc', 'e.g', 'i.e', 'inc', 'ltd', 'no', 'approx', 'dept']);
const MAX_CHARS = 240;
const FIRST_CLAUSE_CHARS = 30;
const SAYABLE = /[\p{L}\p{N}]/u;
const SENTENCE_END = new Set(['.', '!', '?', '…', '\n']);
const CLAUSE_END = new Set([',', ';', ':', '—', '–']);

export class SentenceSplitter {
  private buf = '';
  private emitted = 0;

  /** Adds streamed text; returns the sentences completed by it. */
  push(text: string): string[] {
    this.buf += text;
    const out: string[] = [];
    const emit = (s: string) => {
      out.push(s);
      this.emitted++;
    };
    let start = 0;
    for (let i = 0; i < this.buf.length; i++) {
      const ch = this.buf[i]!;
      const next = this.buf[i + 1];
      const boundary = next !== undefined && /\s/.test(next) && (SENTENCE_END.has(ch) || this.isFirstClauseEnd(start, i));
      if (boundary) {
        if (ch === '.' && this.isAbbreviation(start, i)) continue;
        const s = this.buf.slice(start, i + 1).trim();
        // Punctuation alone ("!" after "Really?" was sent) has nothing to say: it leads the next one.
        if (!SAYABLE.test(s)) continue;
        emit(s);
        start = i + 1;
      } else if (i - start >= MAX_CHARS) {
        const cut = Math.max(this.buf.lastIndexOf(',', i), this.buf.lastIndexOf(' ', i));
        const end = cut > start ? cut + 1 : i + 1;
        const s = this.buf.slice(start, end).trim();
        if (s) emit(s);
        start = end;
        i = end - 1;
      }
    }
    if (this.endsAtOnce(start)) {
      emit(this.buf.slice(start).trim());
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

  /** A clause end that may close the answer's first piece (not inside a number: "1,000"). */
  private isFirstClauseEnd(start: number, i: number): boolean {
    return this.emitted === 0 && CLAUSE_END.has(this.buf[i]!) && i - start >= FIRST_CLAUSE_CHARS && !/\d/.test(this.buf[i - 1] ?? '');
  }

  /** Whether the text from `start` to the end of the buffer is finished already (see the header). */
  private endsAtOnce(start: number): boolean {
    const end = this.buf.length - 1;
    if (end < start) return false;
    const ch = this.buf[end]!;
    const word = /\S*$/.exec(this.buf.slice(start))![0];
    const before = word.slice(0, -1);
    if (!SAYABLE.test(word)) return false;
    if (ch === '!' || ch === '?' || ch === '…') return true;
    const plainWord = /\p{L}$/u.test(before) && !/[.@/]/.test(before);
    if (ch === '.') return plainWord && !this.isAbbreviation(start, end);
    return plainWord && this.isFirstClauseEnd(start, end);
  }

  private isAbbreviation(start: number, dot: number): boolean {
    const word = /([A-Za-z.]+)$/.exec(this.buf.slice(start, dot))?.[1]?.toLowerCase();
    if (!word) return false;
    return ABBREVIATIONS.has(word) || /^[a-z]$/.test(word); // "J. Smith", "U.S."
  }
}
