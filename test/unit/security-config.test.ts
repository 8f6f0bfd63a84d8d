import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, TWILIO_TOKEN_PLACEHOLDER } from '../../src/config';

describe('security switches in the configuration', () => {
  it('ignores X-Forwarded-For by default, and takes a hop count or proxy CIDRs', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).trustProxy).toEqual(['10.0.0.0/8', '127.0.0.1/32']);
    expect(loadConfig({ TRUST_PROXY: 'false' }).trustProxy).toBe(false);
  });

  it('refuses TRUST_PROXY=true (any client could pick its address) and garbage, naming the variable', () => {
    expect(() => loadConfig({ TRUST_PROXY: 'true' })).toThrow(ConfigError);
    expect(() => loadConfig({ TRUST_PROXY: 'proxy.example' })).toThrow(/TRUST_PROXY/);
  });

  it('parses WEBHOOK_ALLOW_CIDRS and refuses a malformed range', () => {
    expect(loadConfig({ WEBHOOK_ALLOW_CIDRS: '10.0.0.0/8,fd00::/8' }).webhookAllowCidrs.map((c) => c.text)).toEqual(['10.0.0.0/8', 'fd00:0:0:0:0:0:0:0/8']);
    expect(() => loadConfig({ WEBHOOK_ALLOW_CIDRS: '10.0.0.0/99' })).toThrow(/WEBHOOK_ALLOW_CIDRS/);
  });

  it("treats docker-compose's Twilio placeholder as no token", () => {
    expect(loadConfig({ TWILIO_AUTH_TOKEN: TWILIO_TOKEN_PLACEHOLDER }).twilioAuthToken).toBeUndefined();
    expect(loadConfig({ TWILIO_AUTH_TOKEN: 'real-token' }).twilioAuthToken).toBe('real-token');
    expect(loadConfig({ TWILIO_INSECURE_DEV: '1' }).twilioInsecureDev).toBe(true);
    expect(loadConfig({}).twilioInsecureDev).toBe(false);
  });
});
