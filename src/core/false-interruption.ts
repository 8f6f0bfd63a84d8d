/**
 * False-interruption recovery (docs/DESIGN.md §8), the pure part: was a barge-in a false one (a cough,
 * a door, a "mhm": no words), and what of the cancelled answer is left to say from where the
 * caller stopped hearing it. The split between heard and unheard text is the one history
 * truncation uses (core/truncate.ts), so what is resumed is exactly what history lost.
 */
import { textHeard, type SpokenSentence } from './truncate';

export type FalseInterruptionReason = 'no_words' | 'backchannel';

/** Lower case, letters and digits only (hyphens split words: "uh-huh" = "uh huh"). */
function words(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}'\s-]/gu, ' ')
    .replace(/[-']/g, ' ')
    .split(/\s+/)
    .filter(Boolean);
}

/**
 * Why the interruption's transcript is not words addressed to the agent, or null when it is: an
 * empty transcript (noise the STT heard nothing in), or one made only of listed backchannels
 * ("Mhm.", "uh-huh, uh huh"). A backchannel may be several words ("uh huh"); the transcript
 * must be a sequence of whole backchannels.
 */
export function falseInterruptionReason(transcript: string, backchannels: readonly string[]): FalseInterruptionReason | null {
  const said = words(transcript);
  if (said.length === 0) return 'no_words';
  const phrases = backchannels.map(words).filter((p) => p.length > 0);
  // reachable[i]: said[0..i) splits into whole backchannels.
  const reachable = new Array<boolean>(said.length + 1).fill(false);
  reachable[0] = true;
  for (let i = 0; i < said.length; i++) {
    if (!reachable[i]) continue;
    for (const p of phrases) {
      if (p.every((w, k) => said[i + k] === w)) reachable[i + p.length] = true;
    }
  }
  return reachable[said.length] ? 'backchannel' : null;
}

export interface ResumePlan {
  /** Where in the cancelled answer's audio the caller stopped hearing it (ms). */
  resumedFromMs: number;
  /** What the caller heard (= what history kept at the barge-in). */
  heard: string;
  /** The sentences left to say, in order; the first may be the unheard end of a sentence. */
  rest: string[];
}

/**
 * What to say to resume an answer cut at `heardMs` of its audio: the words not heard of the
 * sentence playing then, and every later sentence (with or without audio yet). `rest` is empty
 * when the caller had heard it all. `sentences` may have holes (a sentence whose record never came).
 */
export function resumePlan(sentences: readonly (SpokenSentence | undefined)[], heardMs: number): ResumePlan {
  const dense = Array.from(sentences, (s) => s ?? { text: '', ms: 0 });
  const heard = textHeard(dense, heardMs);
  let heardWords = heard.split(/\s+/).filter(Boolean).length;
  const rest: string[] = [];
  for (const s of dense) {
    const w = s.text.split(/\s+/).filter(Boolean);
    if (heardWords >= w.length) {
      heardWords -= w.length;
      continue;
    }
    rest.push(w.slice(heardWords).join(' '));
    heardWords = 0;
  }
  return { resumedFromMs: Math.max(0, Math.round(heardMs)), heard, rest };
}

/** Joins what was heard and what is said after it into the one assistant message history keeps. */
export function joinAnswer(...parts: string[]): string {
  return parts.filter((p) => p.trim()).join(' ');
}
