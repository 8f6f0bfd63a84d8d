/**
 * `?commit=true` on POST /v1/calls/:id/audio and one-shot turns: whether "end the caller's turn
 * now" has anything to end. What the caller's side looks like comes from the driver's own events,
 * read once the driver has sent all the events for the audio given so far.
 */

export interface CallerInput {
  /** Server turn detection (VAD) is on for the call. */
  turnDetection: boolean;
  /** The VAD said speech_started and has not ended that turn (speech_stopped, committed or cleared). */
  speaking: boolean;
  /** Bytes appended since the last commit or clear. */
  uncommittedBytes: number;
}

/**
 * With turn detection, only a turn in progress is ended: once the VAD has ended the caller's turn
 * (and answered it), what follows is silence, and committing it would make a phantom second turn,
 * so a commit with no new speech is a no-op. Without turn detection, any audio not yet committed is
 * the turn.
 */
export function shouldCommitTurn(s: CallerInput): boolean {
  return s.turnDetection ? s.speaking : s.uncommittedBytes > 0;
}
