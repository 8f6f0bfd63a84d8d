/**
 * Phone numbers to E.164. Callers say or type numbers in many ways ("(555) 010-0123",
 * "+44 20 7946 0958", "001 555…"); the customer directory is keyed by the E.164 form.
 * Numbers without a country code are taken as North American (+1), the common case for
 * Twilio numbers; say so in the README.
 */
export function toE164(input: string, defaultCountryCode = '1'): string | null {
  const trimmed = input.trim();
  let digits = trimmed.replace(/[^\d]/g, '');
  if (digits.length === 0) return null;
  if (trimmed.startsWith('+')) {
    // already international
  } else if (digits.startsWith('00')) {
    digits = digits.slice(2);
  } else if (digits.length === 10) {
    digits = defaultCountryCode + digits;
  } else if (digits.length === 11 && digits.startsWith(defaultCountryCode)) {
    // national number with trunk/country prefix, e.g. 1 555 010 0123
  } else {
    return null;
  }
  if (digits.length < 8 || digits.length > 15 || digits.startsWith('0')) return null;
  return '+' + digits;
}
