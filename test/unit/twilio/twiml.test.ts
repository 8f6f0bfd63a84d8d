import { describe, expect, it } from 'vitest';
import { afterStreamTwiml, connectStreamTwiml } from '../../../src/core/twilio/messages';

const XML = '<?xml version="1.0" encoding="UTF-8"?>';

describe('TwiML', () => {
  it('connects the call to the stream, with escaped parameters and the action asked when it closes', () => {
    const xml = connectStreamTwiml('wss://h/v1/twilio/media-stream', { business_id: 'acme', from: 'a"<b>&' }, 'https://h/v1/twilio/stream-ended?business_id=acme&x=1');
    expect(xml).toBe(
      `${XML}<Response><Connect action="https://h/v1/twilio/stream-ended?business_id=acme&amp;x=1"><Stream url="wss://h/v1/twilio/media-stream">` +
        '<Parameter name="business_id" value="acme"/><Parameter name="from" value="a&quot;&lt;b&gt;&amp;"/></Stream></Connect></Response>',
    );
  });

  it('dials a number or a SIP URI after the stream, or hangs up', () => {
    expect(afterStreamTwiml('+15550100777')).toBe(`${XML}<Response><Dial><Number>+15550100777</Number></Dial></Response>`);
    expect(afterStreamTwiml('sip:desk@pbx.example.com;transport=tls&x')).toBe(`${XML}<Response><Dial><Sip>sip:desk@pbx.example.com;transport=tls&amp;x</Sip></Dial></Response>`);
    expect(afterStreamTwiml(null)).toBe(`${XML}<Response><Hangup/></Response>`);
  });
});
