import { describe, expect, it } from 'vitest';
import { falseInterruptionReason, joinAnswer, resumePlan } from '../../../src/core/false-interruption';
import { textHeard } from '../../../src/core/truncate';

const BACKCHANNELS = ['mm', 'mhm', 'uh-huh', 'uh', 'um'];

describe('falseInterruptionReason', () => {
  it('calls an empty or punctuation-only transcript no words', () => {
    expect(falseInterruptionReason('', BACKCHANNELS)).toBe('no_words');
    expect(falseInterruptionReason('  ...  ', BACKCHANNELS)).toBe('no_words');
  });

  it('recognises listed backchannels, alone or repeated, whatever the case and punctuation', () => {
    expect(falseInterruptionReason('Mhm.', BACKCHANNELS)).toBe('backchannel');
    expect(falseInterruptionReason('Uh-huh, uh huh!', BACKCHANNELS)).toBe('backchannel');
    expect(falseInterruptionReason('um... mm', BACKCHANNELS)).toBe('backchannel');
  });

  it('treats anything with other words as a real interruption', () => {
    expect(falseInterruptionReason('Um, what about Sundays?', BACKCHANNELS)).toBeNull();
    expect(falseInterruptionReason('stop', BACKCHANNELS)).toBeNull();
    expect(falseInterruptionReason('uhm', BACKCHANNELS)).toBeNull(); // not listed
  });

  it('uses the business list only (an empty list: only silence is false)', () => {
    expect(falseInterruptionReason('okay', ['okay', 'right'])).toBe('backchannel');
    expect(falseInterruptionReason('mhm', [])).toBeNull();
  });
});

describe('resumePlan', () => {
  const sentences = [
    { text: 'Our opening hours are nine to five on weekdays.', ms: 2000 },
    { text: 'On Saturdays we open at ten.', ms: 1000 },
    { text: 'Is there anything else?', ms: 0 }, // no audio yet
  ];

  it('resumes mid-sentence with the words not heard, then the later sentences', () => {
    const plan = resumePlan(sentences, 1000);
    expect(plan.heard).toBe(textHeard(sentences, 1000));
    expect(plan.rest).toEqual(['nine to five on weekdays.', 'On Saturdays we open at ten.', 'Is there anything else?']);
    expect(plan.resumedFromMs).toBe(1000);
  });

  it('heard + rest is the whole answer, wherever it was cut', () => {
    const whole = sentences.map((s) => s.text).join(' ');
    for (const ms of [0, 1, 450, 1999, 2000, 2500, 2999, 3000, 10_000]) {
      const plan = resumePlan(sentences, ms);
      expect(joinAnswer(plan.heard, ...plan.rest)).toBe(whole);
    }
  });

  it('resumes at a sentence that had no audio yet, and at the start when nothing was heard', () => {
    expect(resumePlan(sentences, 5000).rest).toEqual(['Is there anything else?']);
    expect(resumePlan(sentences, 0).rest).toHaveLength(3);
  });

  it('has nothing to resume when every word was heard, and skips missing sentences', () => {
    expect(resumePlan(sentences.slice(0, 2), 3000).rest).toEqual([]);
    const holes: ({ text: string; ms: number } | undefined)[] = [sentences[0]];
    holes[2] = sentences[1];
    expect(resumePlan(holes, 2000).rest).toEqual(['On Saturdays we open at ten.']);
  });
});
