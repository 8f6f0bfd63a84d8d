import { describe, expect, it } from 'vitest';
import { createRedactor, luhnValid, redactDeep, redactJsonString } from '../../src/core/redact';

const all = createRedactor({ redact: ['credit_card', 'ssn', 'email', 'phone'], patterns: [] })!;

describe('luhn check', () => {
  it('accepts well-known test card numbers with or without separators', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111 1111 1111 1111')).toBe(true);
    expect(luhnValid('5500-0000-0000-0004')).toBe(true);
    expect(luhnValid('378282246310005')).toBe(true);
  });

  it('rejects numbers with a wrong check digit or a length outside 13-19', () => {
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(luhnValid('411111111111')).toBe(false);
    expect(luhnValid('41111111111111111111')).toBe(false);
  });
});

describe('redaction', () => {
  it('masks a card number that passes the Luhn check, in any common grouping', () => {
    expect(all('my card is 4111 1111 1111 1111, thanks')).toBe('my card is [redacted:credit_card], thanks');
    expect(all('4111-1111-1111-1111')).toBe('[redacted:credit_card]');
    expect(all('amex 378282246310005.')).toBe('amex [redacted:credit_card].');
  });

  it('leaves a long number that fails the Luhn check alone', () => {
    expect(all('order 4111111111111112 shipped')).toBe('order 4111111111111112 shipped');
  });

  it('masks US social security numbers but not impossible ones', () => {
    expect(all('SSN 123-45-6789.')).toBe('SSN [redacted:ssn].');
    expect(all('it is 123 45 6789')).toBe('it is [redacted:ssn]');
    expect(all('my ssn is 123456789')).toBe('my ssn is [redacted:ssn]');
    expect(all('000-12-3456 and 666-12-3456')).toBe('000-12-3456 and 666-12-3456');
  });

  it('masks email addresses', () => {
    expect(all('write to jane.doe+support@example.co.uk today')).toBe('write to [redacted:email] today');
  });

  it('masks North American and E.164 phone numbers', () => {
    expect(all('call (555) 010-0123 or 555.010.0124')).toBe('call [redacted:phone] or [redacted:phone]');
    expect(all('+44 20 7946 0958')).toBe('[redacted:phone]');
    expect(all('+15550100123')).toBe('[redacted:phone]');
  });

  it('masks only the categories the business chose', () => {
    const emailOnly = createRedactor({ redact: ['email'], patterns: [] })!;
    expect(emailOnly('a@b.io 4111111111111111 555-010-0123')).toBe('[redacted:email] 4111111111111111 555-010-0123');
  });

  it('masks matches of custom regular expressions', () => {
    const r = createRedactor({ redact: [], patterns: ['ACME-\\d{6}', 'secret\\w*'] })!;
    expect(r('ticket ACME-123456 is secretive')).toBe('ticket [redacted] is [redacted]');
  });

  it('returns no redactor when nothing is configured', () => {
    expect(createRedactor({ redact: [], patterns: [] })).toBeNull();
  });

  it('ignores a custom pattern that matches the empty string instead of looping', () => {
    const r = createRedactor({ redact: [], patterns: ['x*'] })!;
    expect(r('axxb')).toBe('a[redacted]b');
  });

  it('redacts every string inside nested objects and arrays, keeping the keys', () => {
    const v = { transcript: 'mail a@b.io', nested: [{ card: '4111111111111111' }, 3, null], 'x@y.io': true };
    expect(redactDeep(v, all)).toEqual({ transcript: 'mail [redacted:email]', nested: [{ card: '[redacted:credit_card]' }, 3, null], 'x@y.io': true });
  });

  it('keeps a JSON string valid JSON when redacting inside it', () => {
    const out = redactJsonString('{"email":"a\\"b@c.io","n":1}', createRedactor({ redact: [], patterns: ['"'] }));
    expect(JSON.parse(out)).toEqual({ email: 'a[redacted]b@c.io', n: 1 });
  });
});
