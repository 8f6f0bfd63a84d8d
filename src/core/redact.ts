/**
 * Output filtering (docs/DESIGN.md §6): masks the categories a business asks for — credit card numbers
 * (13–19 digits that pass the Luhn check), US social security numbers, email addresses, phone
 * numbers — and its own regular expressions. Pure: text in, text out.
 */
import type { REDACT_CATEGORIES } from '../contracts/business';

export type RedactCategory = (typeof REDACT_CATEGORIES)[number];

export interface OutputFilterSpec {
  redact: readonly RedactCategory[];
  patterns: readonly string[];
}

export type Redactor = (text: string) => string;

/** The mask written in place of a match: `[redacted:email]`, `[redacted]` for custom patterns. */
function maskFor(category: RedactCategory | 'custom'): string {
  return category === 'custom' ? '[redacted]' : `[redacted:${category}]`;
}

/** Luhn checksum over the digits of `s` (separators ignored). */
export function luhnValid(s: string): boolean {
  const digits = s.replace(/\D/g, '');
  if (digits.length < 13 || digits.length > 19) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

// Digit groups separated by single spaces or dashes, not glued to other digits.
const CARD = /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d])/g;
// 123-45-6789 or 123 45 6789 (not 000/666/9xx area, 00 group, 0000 serial), or 9 bare digits after "SSN".
const SSN = /(?<![\d-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\d-])/g;
const SSN_BARE = /\b(ssn|social security(?: number)?)(\s*(?:is|:|#)?\s*)(?!000|666|9\d\d)\d{3}(?!00)\d{2}(?!0000)\d{4}\b/gi;
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
// E.164 (+ and 8–15 digits, separators allowed) or North American numbers like (555) 010-0123.
const PHONE = /(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{3}\)|\d{3})[ .-]?\d{3}[ .-]?\d{4}(?!\d)|(?<![\w+])\+\d(?:[ .-]?\d){7,14}(?!\d)/g;

/** Builds the redactor for a business's output filter, or null when it filters nothing. */
export function createRedactor(filter: OutputFilterSpec): Redactor | null {
  const custom = filter.patterns.flatMap((p) => {
    try {
      return [new RegExp(p, 'g')];
    } catch {
      return []; // validated on PUT; an old stored bad pattern must not break a call
    }
  });
  const on = new Set(filter.redact);
  if (on.size === 0 && custom.length === 0) return null;
  return (text: string) => {
    if (!text) return text;
    let out = text;
    // Emails first (they may hold digits), then cards, SSNs and phones (longest digit runs first).
    if (on.has('email')) out = out.replace(EMAIL, maskFor('email'));
    if (on.has('credit_card')) out = out.replace(CARD, (m) => (luhnValid(m) ? maskFor('credit_card') : m));
    if (on.has('ssn')) {
      out = out.replace(SSN, maskFor('ssn'));
      out = out.replace(SSN_BARE, (_m, label: string, sep: string) => `${label}${sep}${maskFor('ssn')}`);
    }
    if (on.has('phone')) out = out.replace(PHONE, maskFor('phone'));
    for (const re of custom) {
      re.lastIndex = 0;
      out = out.replace(re, (m) => (m === '' ? m : maskFor('custom')));
    }
    return out;
  };
}

/** Applies a redactor to every string inside a JSON-like value (object keys are kept). */
export function redactDeep<T>(value: T, redact: Redactor | null, depth = 0): T {
  if (!redact) return value;
  if (typeof value === 'string') return redact(value) as T;
  if (depth > 32 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, redact, depth + 1)) as T;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = redactDeep(v, redact, depth + 1);
  return out as T;
}

/** Whether a JSON-like value holds any string (only those can need redaction). */
export function containsText(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.length > 0;
  if (depth > 32 || value === null || typeof value !== 'object') return false;
  return Object.values(value as Record<string, unknown>).some((v) => containsText(v, depth + 1));
}

/**
 * Strings that hold JSON (tool arguments and outputs) are redacted field by field, so the
 * result is still JSON; other strings are redacted as text.
 */
export function redactJsonString(s: string, redact: Redactor | null): string {
  if (!redact) return s;
  try {
    return JSON.stringify(redactDeep(JSON.parse(s) as unknown, redact));
  } catch {
    return redact(s);
  }
}
