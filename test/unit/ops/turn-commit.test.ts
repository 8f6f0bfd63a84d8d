import { describe, expect, it } from 'vitest';
import { shouldCommitTurn } from '../../../src/core/turn-commit';

describe('shouldCommitTurn (?commit=true: end the caller’s turn now)', () => {
  it('with turn detection, ends a turn in progress', () => {
    expect(shouldCommitTurn({ turnDetection: true, speaking: true, uncommittedBytes: 64_000 })).toBe(true);
  });

  it('with turn detection, is a no-op once the VAD has ended the turn, whatever silence followed', () => {
    // The README example: the file's trailing silence is still "uncommitted" after the VAD's turn.
    expect(shouldCommitTurn({ turnDetection: true, speaking: false, uncommittedBytes: 9_600 })).toBe(false);
    expect(shouldCommitTurn({ turnDetection: true, speaking: false, uncommittedBytes: 0 })).toBe(false);
  });

  it('without turn detection, commits any audio not committed yet, and nothing else', () => {
    expect(shouldCommitTurn({ turnDetection: false, speaking: false, uncommittedBytes: 1 })).toBe(true);
    expect(shouldCommitTurn({ turnDetection: false, speaking: false, uncommittedBytes: 0 })).toBe(false);
  });
});
