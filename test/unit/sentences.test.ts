import { describe, expect, it } from 'vitest';
import { SentenceSplitter } from '../../src/core/sentences';

/** Feeds the text in pieces of `size` characters (or the given pieces); returns each push's sentences, then the flush. */
function feed(pieces: string[]): { perPush: string[][]; all: string[] } {
  const s = new SentenceSplitter();
  const perPush = pieces.map((p) => s.push(p));
  const all = [...perPush.flat(), ...s.flush()];
  return { perPush, all };
}

const chunks = (text: string, size: number) => Array.from({ length: Math.ceil(text.length / size) }, (_, i) => text.slice(i * size, i * size + size));

describe('SentenceSplitter', () => {
  it('splits at terminal punctuation followed by whitespace', () => {
    expect(feed(['You said: hello. How can I help? Bye!']).all).toEqual(['You said: hello.', 'How can I help?', 'Bye!']);
  });

  it('gives a sentence as soon as its last token arrives, without waiting for the next one', () => {
    const { perPush } = feed(['You said', ': hello', '.', ' How', ' can I help', '?']);
    expect(perPush).toEqual([[], [], ['You said: hello.'], [], [], ['How can I help?']]);
  });

  it('waits where the text may go on: numbers, abbreviations, dotted words and addresses', () => {
    expect(feed(['It costs 3.', '50 dollars. Ok']).perPush[0]).toEqual([]);
    expect(feed(['Ask Dr.', ' Smith. Ok']).perPush[0]).toEqual([]);
    expect(feed(['Write to jane@example.', 'com today. Ok']).perPush[0]).toEqual([]);
    expect(feed(['Open at 5 p.m.', ' daily. Ok']).perPush[0]).toEqual([]);
    expect(feed(['It costs 3.', '50 dollars. Ok']).all).toEqual(['It costs 3.50 dollars.', 'Ok']);
    expect(feed(['Ask Dr.', ' Smith. Ok']).all).toEqual(['Ask Dr. Smith.', 'Ok']);
  });

  it('does not make a sentence of punctuation alone: it leads the next one', () => {
    expect(feed(['Really?', '!', ' Yes.']).all).toEqual(['Really?', '! Yes.']);
    expect(feed(['Really?! Yes.']).all).toEqual(['Really?!', 'Yes.']);
  });

  it('finds the same sentences whatever the chunking of ordinary text', () => {
    const text = 'Our opening hours are nine to five on weekdays. On Saturdays we open at ten! Is there anything else? Dr. Smith costs $3.50, e.g. for a visit. Thanks.';
    const whole = feed([text]).all;
    expect(whole).toHaveLength(5);
    for (const size of [1, 2, 3, 5, 7, 11]) expect(feed(chunks(text, size)).all).toEqual(whole);
  });

  it('ends the answer’s first piece at a clause once it is long enough, and only the first', () => {
    const text = 'Our opening hours are nine to five on weekdays, ten to four on Saturdays, and we are closed on Sundays. Thanks, see you.';
    const expected = ['Our opening hours are nine to five on weekdays,', 'ten to four on Saturdays, and we are closed on Sundays.', 'Thanks, see you.'];
    expect(feed([text]).all).toEqual(expected);
    for (const size of [1, 3, 5, 8]) expect(feed(chunks(text, size)).all).toEqual(expected);
    // As soon as the comma arrives, not one token later.
    expect(feed(['Our opening hours are nine to five on weekdays', ',']).perPush[1]).toEqual(['Our opening hours are nine to five on weekdays,']);
  });

  it('keeps a short first clause, and a number, with the rest', () => {
    expect(feed(['Sure, our hours are nine to five. Ok']).all).toEqual(['Sure, our hours are nine to five.', 'Ok']);
    expect(feed(['The total for your order of 1,', '000 units is due today. Ok']).all).toEqual(['The total for your order of 1,000 units is due today.', 'Ok']);
  });

  it('cuts a long run without punctuation at a comma or space', () => {
    const long = 'word, '.repeat(60);
    const { all } = feed([long]);
    expect(all.length).toBeGreaterThan(1);
    expect(all.every((s) => s.length <= 241)).toBe(true);
    expect(all.join(' ').replace(/\s+/g, ' ')).toBe(long.trim());
  });
});
