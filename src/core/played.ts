/**
 * How much of an item's audio the caller has heard (docs/PROTOCOLS.md §6.4 "Do instead"): the one rule
 * every transport and mode uses to cut history at barge-in and to time end_call after the last
 * words. Audio is sent ahead of real time, so what was sent is an upper bound and the time since
 * the first byte went out is the other; the caller has heard at most the smaller. A client (or
 * Twilio's echoed marks) may know better: what it reports replaces the clock, and what it has
 * confirmed played is a floor. Pure: time comes in as `now`.
 */
export interface Playback {
  /** Milliseconds of the item's audio sent to the caller. */
  sentMs: number;
  /** When its first byte went out (ms since epoch), or null if none has. */
  firstSentAt: number | null;
  now: number;
  /** What the client says it played (conversation.item.truncate, response.interrupt's audio_end_ms). */
  reportedMs?: number;
  /** What is known to have played (the last echoed Twilio mark): never cut below it. */
  confirmedMs?: number;
}

export function playedMs(p: Playback): number {
  const elapsed = p.reportedMs ?? (p.firstSentAt === null ? 0 : p.now - p.firstSentAt);
  return Math.max(0, p.confirmedMs ?? 0, Math.min(p.sentMs, elapsed));
}

/** What is still to play of the item: how long to wait before hanging up after the last words. */
export function unplayedMs(p: Playback): number {
  return Math.max(0, p.sentMs - playedMs(p));
}
