import { describe, expect, it } from 'vitest';
import { streamToken, twilioSignature, validStreamToken, validTwilioSignature } from '../../../src/core/twilio/signature';

describe('Twilio signatures', () => {
  // The example from Twilio's webhook-security documentation.
  const token = '12345';
  const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
  const params = { CallSid: 'CA1234567890ABCDE', Caller: '+14158675309', Digits: '1234', From: '+14158675309', To: '+18005551212' };

  it('matches the signature of twilio-node’s own test fixture', () => {
    expect(twilioSignature(token, url, params)).toBe('RSOYDt4T1cUTdK1PDd93/VVr8B8=');
  });

  it('accepts the right signature and rejects a tampered parameter, URL or missing header', () => {
    const sig = twilioSignature(token, url, params);
    expect(validTwilioSignature(token, sig, url, params)).toBe(true);
    expect(validTwilioSignature(token, sig, url, { ...params, Digits: '9' })).toBe(false);
    expect(validTwilioSignature(token, sig, url.replace('foo', 'baz'), params)).toBe(false);
    expect(validTwilioSignature(token, undefined, url, params)).toBe(false);
  });

  it('binds the media-stream token to the business and the call', () => {
    const t = streamToken(token, 'acme', 'CA1');
    expect(validStreamToken(token, t, 'acme', 'CA1')).toBe(true);
    expect(validStreamToken(token, t, 'other', 'CA1')).toBe(false);
    expect(validStreamToken(token, t, 'acme', 'CA2')).toBe(false);
    expect(validStreamToken(token, undefined, 'acme', 'CA1')).toBe(false);
  });
});
