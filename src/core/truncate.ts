/**
 * What the caller actually heard of a reply, as text: after barge-in the assistant message in
 * history is cut to the audio that was played, so the model never believes it said more. Each
 * sentence's text is spread evenly over its audio; a partly played sentence keeps the words
 * whose share of the audio was reached.
 */
export interface SpokenSentence {
  text: string;
  /** Audio duration of the sentence in ms (0 if it had no audio yet). */
  ms: number;
}

export function textHeard(sentences: readonly SpokenSentence[], playedMs: number): string {
  const out: string[] = [];
  let at = 0;
  for (const s of sentences) {
    if (playedMs <= at || s.ms <= 0) break;
    if (playedMs >= at + s.ms) {
      out.push(s.text);
    } else {
      const words = s.text.split(/\s+/).filter(Boolean);
      const n = Math.floor((words.length * (playedMs - at)) / s.ms);
      if (n > 0) out.push(words.slice(0, n).join(' '));
      break;
    }
    at += s.ms;
  }
  return out.join(' ');
}
