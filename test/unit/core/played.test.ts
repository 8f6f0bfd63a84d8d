import { describe, expect, it } from 'vitest';
import { playedMs, unplayedMs } from '../../../src/core/played';

describe('playedMs', () => {
  it('is nothing before the first byte went out', () => {
    expect(playedMs({ sentMs: 500, firstSentAt: null, now: 10_000 })).toBe(0);
  });

  it('is the time since the first byte while audio runs ahead of real time', () => {
    expect(playedMs({ sentMs: 3_000, firstSentAt: 1_000, now: 1_700 })).toBe(700);
  });

  it('never passes what was sent', () => {
    expect(playedMs({ sentMs: 400, firstSentAt: 1_000, now: 5_000 })).toBe(400);
  });

  it('takes what the client reports instead of the clock, still capped at what was sent', () => {
    expect(playedMs({ sentMs: 3_000, firstSentAt: 1_000, now: 1_700, reportedMs: 250 })).toBe(250);
    expect(playedMs({ sentMs: 300, firstSentAt: 1_000, now: 1_700, reportedMs: 900 })).toBe(300);
  });

  it('never cuts below what is confirmed played', () => {
    expect(playedMs({ sentMs: 3_000, firstSentAt: 1_000, now: 1_100, confirmedMs: 600 })).toBe(600);
  });

  it('is never negative when the clock steps back', () => {
    expect(playedMs({ sentMs: 3_000, firstSentAt: 2_000, now: 1_000 })).toBe(0);
  });
});

describe('unplayedMs', () => {
  it('is what was sent and has not played yet', () => {
    expect(unplayedMs({ sentMs: 3_000, firstSentAt: 1_000, now: 1_700 })).toBe(2_300);
    expect(unplayedMs({ sentMs: 400, firstSentAt: 1_000, now: 5_000 })).toBe(0);
  });
});
